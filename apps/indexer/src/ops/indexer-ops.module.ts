import { Module, OnModuleInit } from '@nestjs/common';
import { Metrics, ReadinessChecks, computedCounter, computedGauge } from '@p2p-pubsub/server';
import { RegistryModule } from '../registry/registry.module';
import { RegistryService } from '../registry/registry.service';

/**
 * Operating the indexer: the `registrations` readiness check and its
 * metrics (peers and topics held, leases expired, claims), all read from
 * the registry when asked.
 */
@Module({ imports: [RegistryModule] })
export class IndexerOpsModule implements OnModuleInit {
  constructor(
    private readonly registry: RegistryService,
    private readonly metrics: Metrics,
    private readonly checks: ReadinessChecks,
  ) {}

  onModuleInit(): void {
    // The registry is in memory and ready as soon as the listener is: what
    // this adds to `tcp` is what it holds.
    this.checks.add('registrations', () => ({
      ready: true,
      details: { peers: this.registry.peerCount, topics: this.registry.topicCount },
    }));
    if (!this.metrics.enabled) return;
    const { registry } = this.metrics;
    computedGauge({
      registry,
      name: 'pubsub_indexer_peers',
      help: 'Peers registered (heartbeating within their lease).',
      read: () => [[{}, this.registry.peerCount]],
    });
    computedGauge({
      registry,
      name: 'pubsub_indexer_topics',
      help: 'Topics with a host.',
      read: () => [[{}, this.registry.topicCount]],
    });
    computedCounter({
      registry,
      name: 'pubsub_indexer_leases_expired_total',
      help: 'Peers evicted because their lease expired (no heartbeat for PEER_LEASE_MS).',
      read: () => [[{}, this.registry.counts.leasesExpired]],
    });
    computedCounter({
      registry,
      name: 'pubsub_indexer_claims_total',
      help: 'Topic names claimed (create_topic accepted).',
      read: () => [[{}, this.registry.counts.claims]],
    });
  }
}
