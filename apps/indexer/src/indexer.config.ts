import { IsInt, IsString, Length, Max, Min } from 'class-validator';
import { DEFAULT_MAX_MESSAGE_BYTES } from '@p2p-pubsub/protocol';
import {
  SecuritySettings,
  SettingSource,
  loadConfig,
  opsSettingSources,
  securitySources,
} from '@p2p-pubsub/server';

export class IndexerConfig extends SecuritySettings {
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
  host: { env: 'HOST', flags: ['host'] },
  port: { env: 'PORT', flags: ['port'] },
  peerLeaseMs: { env: 'PEER_LEASE_MS', flags: ['peer-lease-ms'] },
  maxMessageBytes: { env: 'MAX_MESSAGE_BYTES', flags: ['max-message-bytes'] },
  ...securitySources,
};

export function loadIndexerConfig(argv?: string[], env?: NodeJS.ProcessEnv): IndexerConfig {
  return loadConfig(IndexerConfig, sources, argv, env);
}
