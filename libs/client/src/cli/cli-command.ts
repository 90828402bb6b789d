import type { ConnectionOptions } from 'tls';
import type { PrincipalRole } from '@p2p-pubsub/protocol';
import type { IndexerClient } from '../indexer-client';
import type { PeerClient } from '../peer-client';

/** An option of one command, as `util.parseArgs` takes it, with its help line. */
export interface CliOption {
  type: 'string' | 'boolean';
  short?: string;
  /** Shown in help as `--name <valueName>`. */
  valueName?: string;
  description: string;
}

/**
 * One `pubsub` command. The table of commands is open: the published client
 * has the ones below, and the repository's own CLI adds `cluster` (and other
 * tools their own) by passing a longer table to runCli.
 */
export interface CliCommand {
  name: string;
  aliases?: string[];
  /** Positional arguments: `<topic>` required, `[message]` optional. */
  args?: string;
  /** Where the command is listed in `pubsub --help`. */
  group: string;
  summary: string;
  /** More help for `pubsub help <command>`. */
  details?: string;
  options?: Record<string, CliOption>;
  run(context: CliContext): Promise<number>;
}

export interface CliContext {
  command: CliCommand;
  /** Positional arguments by the names in `args`. */
  args: Record<string, string | undefined>;
  /** Option values by long name (strings stay strings; see `integerOption`). */
  options: Record<string, string | boolean | undefined>;
  /** A client for --peer (PUBSUB_PEER, localhost:5555), opened on first use. */
  peer(options?: { requestTimeoutMs?: number }): PeerClient;
  /** A client for --indexer (PUBSUB_INDEXER, localhost:6000), opened on first use. */
  indexer(): IndexerClient;
  /** TLS options from --ca/--cert/--key (PUBSUB_TLS_*) for a server of `role`; undefined without --ca. */
  tls(role: PrincipalRole): ConnectionOptions | undefined;
  /** --token (PUBSUB_TOKEN): how a client without a certificate authenticates. */
  token?: string;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl-C or SIGTERM: long-running commands stop and exit 0. */
  signal: AbortSignal;
}

/** A mistake on the command line: the message, the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: CliCommand,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Reads `--name` as a non-negative integer, or undefined when absent. */
export function integerOption(context: CliContext, name: string): number | undefined {
  const value = context.options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw new UsageError(
      `--${name} must be a non-negative integer, got '${value}'`,
      context.command,
    );
  }
  return Number(value);
}

/** Reads `--name` as a positive number (fractions allowed), or undefined when absent. */
export function numberOption(context: CliContext, name: string): number | undefined {
  const value = context.options[name];
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(number > 0)) {
    throw new UsageError(`--${name} must be a positive number, got '${value}'`, context.command);
  }
  return number;
}
