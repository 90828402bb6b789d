/** A peer's or the indexer's address. */
export interface Address {
  host: string;
  port: number;
}

/**
 * Reads `host:port` (or `[::1]:port`). Throws a plain Error naming what was
 * expected: callers turn it into their own usage or validation error.
 */
export function parseAddress(value: string): Address {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`expected host:port (such as localhost:5555), got '${value}'`);
  }
  return { host: match[1], port };
}
