import 'reflect-metadata';
import { IndexerBareCommands } from '@app/protocol';
import { runMain, startService, wireLimitsFor } from '@app/transport';
import { loadIndexerConfig } from './indexer.config';
import { IndexerModule } from './indexer.module';

runMain(async () => {
  const config = loadIndexerConfig();
  await startService(IndexerModule.forRoot(config), {
    role: 'indexer',
    host: config.host,
    port: config.port,
    limits: wireLimitsFor(config.maxMessageBytes),
    bareCommands: IndexerBareCommands,
  });
});
