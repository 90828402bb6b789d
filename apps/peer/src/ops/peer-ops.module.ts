import { Module, OnModuleInit } from '@nestjs/common';
import { ReadinessChecks } from '@p2p-pubsub/server';
import { ConsumersModule } from '../consumers/consumers.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { LinksModule } from '../links/links.module';
import { IndexerLink } from '../links/indexer-link';
import { LogModule } from '../log/log.module';
import { LogStore } from '../log/log-store';
import { PeerIdentity } from '../peer-identity';
import { PeerMetrics } from './peer-metrics';
import { PeerPositions } from './peer-positions';
import { StatusController } from './status.controller';

/**
 * Operating a peer: its readiness checks (registered with the indexer, logs
 * recovered), its metrics, and `list_consumers`. It only reads the other
 * modules' state; TopicStats, the one thing on the publish path, is
 * provided by PeerModule.
 */
@Module({
  imports: [LogModule, LinksModule, DeliveryModule, ConsumersModule],
  controllers: [StatusController],
  providers: [PeerPositions, PeerMetrics],
})
export class PeerOpsModule implements OnModuleInit {
  constructor(
    private readonly checks: ReadinessChecks,
    private readonly indexer: IndexerLink,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
  ) {}

  onModuleInit(): void {
    this.checks.add('indexer', () =>
      this.indexer.isRegistered
        ? { ready: true, details: { peerId: this.identity.peerId } }
        : { ready: false, reason: 'not registered with the indexer' },
    );
    this.checks.add('storage', () => {
      try {
        return {
          ready: true,
          details: {
            dataDir: this.store.dataPath,
            hosted: this.store.topicsWithRole('hosted').length,
            replicas: this.store.topicsWithRole('replica').length,
          },
        };
      } catch {
        return { ready: false, reason: 'logs not recovered yet' };
      }
    });
  }
}
