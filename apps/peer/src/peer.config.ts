import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@app/protocol';
import { SettingSource, loadConfig } from '@app/transport';

export class PeerConfig {
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

  /** Messages a topic log keeps before the oldest are dropped. */
  @IsInt()
  @Min(1)
  retentionMessages: number = 100_000;

  /** The advertised host, falling back to the bind address. */
  get publicHost(): string {
    if (this.advertisedHost) return this.advertisedHost;
    return this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
  }
}

const sources: Record<Exclude<keyof PeerConfig, 'publicHost'>, SettingSource> = {
  host: { env: 'HOST', flags: ['host'] },
  port: { env: 'PORT', flags: ['port'] },
  advertisedHost: { env: 'ADVERTISED_HOST', flags: ['advertised-host'] },
  indexerHost: { env: 'INDEXER_HOST', flags: ['indexer-host', 'indexing_server_host'] },
  indexerPort: { env: 'INDEXER_PORT', flags: ['indexer-port', 'indexing_server_port'] },
  maxMessageBytes: { env: 'MAX_MESSAGE_BYTES', flags: ['max-message-bytes'] },
  requestTimeoutMs: { env: 'REQUEST_TIMEOUT_MS', flags: ['request-timeout-ms'] },
  heartbeatIntervalMs: { env: 'HEARTBEAT_INTERVAL_MS', flags: ['heartbeat-interval-ms'] },
  retentionMessages: { env: 'RETENTION_MESSAGES', flags: ['retention-messages'] },
};

export function loadPeerConfig(argv?: string[], env?: NodeJS.ProcessEnv): PeerConfig {
  return loadConfig(PeerConfig, sources as Record<keyof PeerConfig & string, SettingSource>, argv, env);
}
