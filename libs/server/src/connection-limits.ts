import { readFileSync } from 'fs';
import { Logger } from '@nestjs/common';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { ConfigError, SettingSource } from './config';
import { SecuritySettings } from './security/security.settings';

const MiB = 1024 * 1024;

/** What one server process and each of its connections may hold before requests are refused. */
export interface ConnectionLimits {
  /** Open client connections, all addresses together. */
  maxConnections: number;
  /** Open client connections from one remote address. */
  maxConnectionsPerAddress: number;
  /** Requests of one connection being handled (dispatched, final reply not yet sent). */
  maxInFlightPerConnection: number;
  /** Reply bytes of one connection that its client has not taken yet. */
  maxQueuedReplyBytes: number;
}

/**
 * Descriptors kept free of connections, whatever the fd limit: log segments
 * and journals (with an LRU of open files), links to other peers and the
 * indexer, and Node's own (stdio, the event loop, the listener).
 */
const DESCRIPTORS_KEPT_FOR_FILES = 64;
const DEFAULT_MAX_CONNECTIONS_CEILING = 10_000;
const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;
const DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 1024;
const DEFAULT_MAX_QUEUED_REPLY_BYTES = 16 * MiB;

/**
 * The soft limit on open files of this process (`ulimit -n`), from
 * /proc/self/limits; undefined where that cannot be read (not Linux).
 */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    const value = Number(soft);
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Half of the descriptors the process may open go to connections, the rest
 * to files and links, and never more than leaves room for `reservedFiles`
 * (a peer's MAX_OPEN_FILES), so idle connections up to the cap cannot starve
 * a publish of a file. 1024 open files (a common default) give 480
 * connections.
 */
export function defaultMaxConnections(
  fileLimit = openFileLimit() ?? 1024,
  reservedFiles = 0,
): number {
  const half = Math.floor(fileLimit / 2) - DESCRIPTORS_KEPT_FOR_FILES / 2;
  const room = fileLimit - reservedFiles - DESCRIPTORS_KEPT_FOR_FILES;
  return Math.max(16, Math.min(DEFAULT_MAX_CONNECTIONS_CEILING, half, room));
}

/**
 * The connection settings both services read (see the README's
 * configuration tables), beside the ops, process and security settings. Left unset, they are
 * derived from the process's open-file limit by `resolveConnectionLimits`.
 */
export class ConnectionSettings extends SecuritySettings {
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxConnections?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxConnectionsPerAddress?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxInFlightPerConnection?: number;

  @IsOptional()
  @IsInt()
  @Min(64 * 1024)
  @Max(1024 * MiB)
  maxQueuedReplyBytes?: number;
}

export const connectionSettingSources: Record<
  Exclude<keyof ConnectionSettings, keyof SecuritySettings>,
  SettingSource
> = {
  maxConnections: { env: 'MAX_CONNECTIONS', flags: ['max-connections'] },
  maxConnectionsPerAddress: {
    env: 'MAX_CONNECTIONS_PER_ADDRESS',
    flags: ['max-connections-per-address'],
  },
  maxInFlightPerConnection: {
    env: 'MAX_IN_FLIGHT_PER_CONNECTION',
    flags: ['max-in-flight-per-connection'],
  },
  maxQueuedReplyBytes: { env: 'MAX_QUEUED_REPLY_BYTES', flags: ['max-queued-reply-bytes'] },
};

/**
 * Fills in the defaults and checks the settings against each other and
 * against the open-file limit: a connection cap the process cannot reach
 * without running out of descriptors for its files (`reservedFiles` of them,
 * a peer's MAX_OPEN_FILES, and a few more) is a configuration error.
 */
export function resolveConnectionLimits(
  settings: Partial<ConnectionLimits>,
  fileLimit = openFileLimit(),
  reservedFiles = 0,
): ConnectionLimits {
  const maxConnections = settings.maxConnections ?? defaultMaxConnections(fileLimit, reservedFiles);
  const room =
    fileLimit === undefined ? Infinity : fileLimit - reservedFiles - DESCRIPTORS_KEPT_FOR_FILES;
  if (settings.maxConnections !== undefined && maxConnections > room) {
    const files = reservedFiles > 0 ? ` less MAX_OPEN_FILES (${reservedFiles})` : '';
    throw new ConfigError(
      `Invalid configuration:\n  MAX_CONNECTIONS (--max-connections) = '${maxConnections}': ` +
        `this process may open ${fileLimit} files (ulimit -n); at most ${room} (that${files} less ${DESCRIPTORS_KEPT_FOR_FILES})`,
    );
  }
  const maxConnectionsPerAddress =
    settings.maxConnectionsPerAddress ??
    Math.min(maxConnections, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  if (maxConnectionsPerAddress > maxConnections) {
    throw new ConfigError(
      `Invalid configuration:\n  MAX_CONNECTIONS_PER_ADDRESS (--max-connections-per-address) = ` +
        `'${maxConnectionsPerAddress}': larger than MAX_CONNECTIONS (${maxConnections})`,
    );
  }
  return {
    maxConnections,
    maxConnectionsPerAddress,
    maxInFlightPerConnection:
      settings.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION,
    maxQueuedReplyBytes: settings.maxQueuedReplyBytes ?? DEFAULT_MAX_QUEUED_REPLY_BYTES,
  };
}

/**
 * Refused connections kept open at once to be told why. Each holds a
 * descriptor until its first request or the incomplete-message timeout;
 * past this many, a refused connection is closed at once, without a word,
 * so a flood of connections cannot use up descriptors the cap protects.
 */
const MAX_REFUSED_WAITING = 16;

/** How often, at most, refusals are logged; the ones in between are counted in the next line. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * The open connections of one server, by remote address, and whether a new
 * one is admitted. One instance per server (so per process), shared by the
 * sockets its socket class makes.
 */
export class ConnectionRegistry {
  private open = 0;
  private refusedWaiting = 0;
  private readonly byAddress = new Map<string, number>();
  private readonly logger = new Logger('Connections');
  private lastLogAt = -Infinity;
  private unlogged = 0;

  constructor(readonly limits: ConnectionLimits) {}

  get openConnections(): number {
    return this.open;
  }

  /**
   * Counts a new connection in, or says why it is refused (it is then not
   * counted, and `release` must not be called for it).
   */
  admit(address: string): string | undefined {
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (this.open >= this.limits.maxConnections) {
      return `${this.open} connections are open, the limit of this process (MAX_CONNECTIONS)`;
    }
    if (fromAddress >= this.limits.maxConnectionsPerAddress) {
      return `${fromAddress} connections from ${address} are open, the limit per address (MAX_CONNECTIONS_PER_ADDRESS)`;
    }
    this.open++;
    this.byAddress.set(address, fromAddress + 1);
    return undefined;
  }

  /**
   * Whether a refused connection may stay open until it is told why; if so,
   * `releaseRefused` must be called when it closes.
   */
  holdRefused(): boolean {
    if (this.refusedWaiting >= MAX_REFUSED_WAITING) return false;
    this.refusedWaiting++;
    return true;
  }

  releaseRefused(): void {
    this.refusedWaiting--;
  }

  release(address: string): void {
    this.open--;
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.byAddress.set(address, left);
    else this.byAddress.delete(address);
  }

  /**
   * Logs a refusal as a warning, at most once per interval: a flood of
   * connections or requests must not become a flood of log lines.
   */
  logRefusal(line: string, now = Date.now()): void {
    if (now - this.lastLogAt < REFUSAL_LOG_INTERVAL_MS) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged > 0 ? ` (and ${this.unlogged} refusal(s) not logged before)` : '';
    this.logger.warn(`${line}${more}`);
    this.lastLogAt = now;
    this.unlogged = 0;
  }
}

/** The limits a loaded configuration holds once `resolveConnectionLimits` filled them in. */
export function resolvedConnectionLimits(settings: Partial<ConnectionLimits>): ConnectionLimits {
  const {
    maxConnections,
    maxConnectionsPerAddress,
    maxInFlightPerConnection,
    maxQueuedReplyBytes,
  } = settings;
  if (
    maxConnections === undefined ||
    maxConnectionsPerAddress === undefined ||
    maxInFlightPerConnection === undefined ||
    maxQueuedReplyBytes === undefined
  ) {
    throw new Error('connection limits not resolved: load the configuration first');
  }
  return {
    maxConnections,
    maxConnectionsPerAddress,
    maxInFlightPerConnection,
    maxQueuedReplyBytes,
  };
}
