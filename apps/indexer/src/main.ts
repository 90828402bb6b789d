import 'reflect-metadata';
import { IndexerBareCommands } from '@p2p-pubsub/protocol';
import { Security, resolvedConnectionLimits, runMain, startService } from '@p2p-pubsub/server';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { loadIndexerConfig } from './indexer.config';
import { IndexerModule } from './indexer.module';

runMain(async () => {
  const config = loadIndexerConfig();
  const security = Security.load(config, 'indexer');
  await startService(IndexerModule.forRoot(config, security), {
    role: 'indexer',
    host: config.host,
    port: config.port,
    limits: wireLimitsFor(config.maxMessageBytes),
    connections: resolvedConnectionLimits(config),
    bareCommands: IndexerBareCommands,
    settings: config,
    security,
  });
});
