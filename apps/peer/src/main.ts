import 'reflect-metadata';
import { PeerBareCommands } from '@p2p-pubsub/protocol';
import { Security, resolvedConnectionLimits, runMain, startService } from '@p2p-pubsub/server';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { IndexerLink } from './links/indexer-link';
import { loadPeerConfig } from './peer.config';
import { PeerIdentity } from './peer-identity';
import { PeerModule } from './peer.module';

runMain(async () => {
  const config = loadPeerConfig();
  const security = Security.load(config, 'peer');
  const { app, port, opsPort } = await startService(PeerModule.forRoot(config, security), {
    role: 'peer',
    host: config.host,
    port: config.port,
    advertisedHost: config.publicHost,
    limits: wireLimitsFor(config.maxMessageBytes),
    connections: resolvedConnectionLimits(config),
    bareCommands: PeerBareCommands,
    settings: config,
    readyWhen: ['registered'],
    security,
  });
  // Registration needs the bound port, which is only known now.
  app.get(PeerIdentity).port = port;
  app.get(PeerIdentity).opsPort = opsPort;
  app.get(IndexerLink).start();
});
