import { IsInt, IsString, Length, Max, Min } from 'class-validator';
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

/** Also the ops, process, security and connection settings (OPS_PORT, READY_FILE, SECURITY, MAX_CONNECTIONS, ...). */
export class IndexerConfig extends ConnectionSettings {
  @IsString()
  @Length(1, 255)
  host: string = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  port: number = 6000;

  /** A peer silent for longer than this is evicted with its topics. */
  @IsInt()
  @Min(100)
  peerLeaseMs: number = 10_000;

  /** Bounds the frames the indexer accepts (they never carry messages). */
  @IsInt()
  @Min(1024)
  maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES;
}

const sources: Record<keyof IndexerConfig, SettingSource> = {
  ...opsSettingSources,
  ...connectionSettingSources,
  host: { env: 'HOST', flags: ['host'] },
  port: { env: 'PORT', flags: ['port'] },
  peerLeaseMs: { env: 'PEER_LEASE_MS', flags: ['peer-lease-ms'] },
  maxMessageBytes: { env: 'MAX_MESSAGE_BYTES', flags: ['max-message-bytes'] },
  ...securitySources,
};

export function loadIndexerConfig(argv?: string[], env?: NodeJS.ProcessEnv): IndexerConfig {
  const config = loadConfig(IndexerConfig, sources, argv, env);
  return Object.assign(config, resolveConnectionLimits(config));
}
