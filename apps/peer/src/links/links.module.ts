import { Module } from '@nestjs/common';
import { IndexerClient, RpcConnection, expectServer } from '@p2p-pubsub/client';
import { Security } from '@p2p-pubsub/server';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { LogModule } from '../log/log.module';
import { PeerConfig } from '../peer.config';
import { IndexerLink } from './indexer-link';
import { INDEXER_CLIENT, PEER_CONNECTION_FACTORY, PeerConnectionFactory } from './links.tokens';
import { PeerLinks } from './peer-links';

/**
 * Connections out of this peer: to the indexer and to other peers. The
 * clients themselves are providers, so unit tests substitute fakes for them.
 * With security on they speak TLS with this peer's certificate, and each
 * checks who answers: the indexer must hold an indexer's certificate for
 * its host name, another peer the certificate of the very peer id dialled.
 */
@Module({
  imports: [LogModule],
  providers: [
    IndexerLink,
    PeerLinks,
    {
      provide: INDEXER_CLIENT,
      inject: [PeerConfig, Security],
      useFactory: (config: PeerConfig, security: Security) =>
        new IndexerClient({
          host: config.indexerHost,
          port: config.indexerPort,
          requestTimeoutMs: config.requestTimeoutMs,
          limits: wireLimitsFor(config.maxMessageBytes),
          tls: security.outgoingTls(expectServer('indexer')),
        }),
    },
    {
      provide: PEER_CONNECTION_FACTORY,
      inject: [PeerConfig, Security],
      useFactory:
        (config: PeerConfig, security: Security): PeerConnectionFactory =>
        (host, port) =>
          new RpcConnection({
            host,
            port,
            requestTimeoutMs: config.requestTimeoutMs,
            limits: wireLimitsFor(config.maxMessageBytes),
            tls: security.outgoingTls(expectServer('peer', `${host}:${port}`)),
          }),
    },
  ],
  exports: [IndexerLink, PeerLinks],
})
export class LinksModule {}
