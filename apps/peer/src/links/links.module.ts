import { Module } from '@nestjs/common';
import { IndexerClient, RpcConnection } from '@p2p-pubsub/client';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { LogModule } from '../log/log.module';
import { PeerConfig } from '../peer.config';
import { IndexerLink } from './indexer-link';
import { INDEXER_CLIENT, PEER_CONNECTION_FACTORY, PeerConnectionFactory } from './links.tokens';
import { PeerLinks } from './peer-links';

/**
 * Connections out of this peer: to the indexer and to other peers. The
 * clients themselves are providers, so unit tests substitute fakes for them.
 */
@Module({
  imports: [LogModule],
  providers: [
    IndexerLink,
    PeerLinks,
    {
      provide: INDEXER_CLIENT,
      inject: [PeerConfig],
      useFactory: (config: PeerConfig) =>
        new IndexerClient({
          host: config.indexerHost,
          port: config.indexerPort,
          requestTimeoutMs: config.requestTimeoutMs,
          limits: wireLimitsFor(config.maxMessageBytes),
        }),
    },
    {
      provide: PEER_CONNECTION_FACTORY,
      inject: [PeerConfig],
      useFactory:
        (config: PeerConfig): PeerConnectionFactory =>
        (host, port) =>
          new RpcConnection({
            host,
            port,
            requestTimeoutMs: config.requestTimeoutMs,
            limits: wireLimitsFor(config.maxMessageBytes),
          }),
    },
  ],
  exports: [IndexerLink, PeerLinks],
})
export class LinksModule {}
