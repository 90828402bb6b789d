import { IsIn, IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@p2p-pubsub/protocol';
import {
  ConnectionSettings,
  SettingSource,
  connectionSettingSources,
  loadConfig,
  opsSettingSources,
  resolveConnectionLimits,
  securitySources,
} from '@p2p-pubsub/server';

/**
 * When an acknowledged message reaches stable storage. Every publish is
 * written to the log file before it is acknowledged, so it survives the
 * process being killed either way; what a power loss may take differs.
 */
export const FsyncPolicies = ['always', 'interval'] as const;
export type FsyncPolicy = (typeof FsyncPolicies)[number];

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Also the ops, process, security and connection settings (OPS_PORT, READY_FILE, SECURITY, MAX_CONNECTIONS, ...). */
export class PeerConfig extends ConnectionSettings {
  /** Bind address. */
  @IsString()
  @Length(1, 255)
  host: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  port: number = 5555;

  /**
   * The host name other peers use to reach this one; differs from the bind
   * address in containers (bind 0.0.0.0, advertise the service name).
   */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  advertisedHost?: string;

  @IsString()
  @Length(1, 255)
  indexerHost: string = '127.0.0.1';

  @IsInt()
  @Min(1)
  @Max(65535)
  indexerPort: number = 6000;

  /** Largest message accepted by publish, in UTF-8 bytes. */
  @IsInt()
  @Min(1)
  @Max(64 * 1024 * 1024)
  maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES;

  /** Bound on every call to another peer or the indexer. */
  @IsInt()
  @Min(50)
  requestTimeoutMs: number = 5_000;

  @IsInt()
  @Min(50)
  heartbeatIntervalMs: number = 2_000;

  /**
   * How often each replica is compared with the indexer and confirmed with
   * its host, so a host that moved or lost its data is noticed even when it
   * pushes nothing.
   */
  @IsInt()
  @Min(50)
  subscriptionCheckMs: number = 5_000;

  /**
   * Where the logs and their state live. Defaults to ./data/peer-<port>; a
   * peer on port 0 without one gets a temporary directory (see loadPeerConfig).
   */
  @IsOptional()
  @IsString()
  @Length(1, 4096)
  dataDir?: string;

  /** `always`: fdatasync before every acknowledgement. `interval`: every fsyncIntervalMs. */
  @IsIn(FsyncPolicies)
  fsync: FsyncPolicy = 'interval';

  @IsInt()
  @Min(1)
  @Max(60_000)
  fsyncIntervalMs: number = 1_000;

  /** A log file (segment) is rolled at this size; retention removes whole segments. */
  @IsInt()
  @Min(4096)
  @Max(1024 * MiB)
  segmentBytes: number = 16 * MiB;

  /** Per topic log: messages kept (at least; whole segments go). */
  @IsInt()
  @Min(1)
  retentionMessages: number = 1_000_000;

  /** Per topic log: bytes on disk kept (at least; whole segments go). */
  @IsInt()
  @Min(4096)
  retentionBytes: number = 1024 * MiB;

  /** Per topic log: a segment goes once all its messages are older than this. */
  @IsInt()
  @Min(1_000)
  retentionMs: number = 7 * DAY_MS;

  /**
   * Descriptors for log segments and journals, all topics together; files
   * are opened on demand and the least recently used closed. Connections
   * need descriptors too: keep this well under the process's limit (ulimit -n).
   */
  @IsInt()
  @Min(16)
  @Max(1_000_000)
  maxOpenFiles: number = 256;

  /** Topics this peer keeps, hosted and subscribed; one more is LIMIT_EXCEEDED. */
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxTopics: number = 10_000;

  /** The advertised host, falling back to the bind address. */
  get publicHost(): string {
    if (this.advertisedHost) return this.advertisedHost;
    return this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
  }
}

const sources: Record<Exclude<keyof PeerConfig, 'publicHost'>, SettingSource> = {
  ...opsSettingSources,
  ...connectionSettingSources,
  host: { env: 'HOST', flags: ['host'] },
  port: { env: 'PORT', flags: ['port'] },
  advertisedHost: { env: 'ADVERTISED_HOST', flags: ['advertised-host'] },
  indexerHost: { env: 'INDEXER_HOST', flags: ['indexer-host', 'indexing_server_host'] },
  indexerPort: { env: 'INDEXER_PORT', flags: ['indexer-port', 'indexing_server_port'] },
  maxMessageBytes: { env: 'MAX_MESSAGE_BYTES', flags: ['max-message-bytes'] },
  requestTimeoutMs: { env: 'REQUEST_TIMEOUT_MS', flags: ['request-timeout-ms'] },
  heartbeatIntervalMs: { env: 'HEARTBEAT_INTERVAL_MS', flags: ['heartbeat-interval-ms'] },
  subscriptionCheckMs: { env: 'SUBSCRIPTION_CHECK_MS', flags: ['subscription-check-ms'] },
  dataDir: { env: 'DATA_DIR', flags: ['data-dir'] },
  fsync: { env: 'FSYNC', flags: ['fsync'] },
  fsyncIntervalMs: { env: 'FSYNC_INTERVAL_MS', flags: ['fsync-interval-ms'] },
  segmentBytes: { env: 'SEGMENT_BYTES', flags: ['segment-bytes'] },
  retentionMessages: { env: 'RETENTION_MESSAGES', flags: ['retention-messages'] },
  retentionBytes: { env: 'RETENTION_BYTES', flags: ['retention-bytes'] },
  retentionMs: { env: 'RETENTION_MS', flags: ['retention-ms'] },
  maxOpenFiles: { env: 'MAX_OPEN_FILES', flags: ['max-open-files'] },
  maxTopics: { env: 'MAX_TOPICS', flags: ['max-topics'] },
  ...securitySources,
};

export function loadPeerConfig(argv?: string[], env?: NodeJS.ProcessEnv): PeerConfig {
  const config = loadConfig(
    PeerConfig,
    sources as Record<keyof PeerConfig & string, SettingSource>,
    argv,
    env,
  );
  // A fixed port is the peer's identity across restarts, so it names the
  // default directory. On port 0 the next start is a different peer: it gets
  // a temporary directory (LogStore), rather than one shared by every such peer.
  if (config.dataDir === undefined && config.port !== 0)
    config.dataDir = `data/peer-${config.port}`;
  // Connections and log files share the descriptors: the default cap leaves MAX_OPEN_FILES room.
  return Object.assign(config, resolveConnectionLimits(config, undefined, config.maxOpenFiles));
}
