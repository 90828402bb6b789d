import { Injectable, OnModuleInit } from '@nestjs/common';
import {
  Labels,
  Metrics,
  Sample,
  computedCounter,
  computedGauge,
  computedHistogram,
  withoutLabels,
} from '@p2p-pubsub/server';
import { IndexerLink } from '../links/indexer-link';
import { PeerPositions } from './peer-positions';
import { TopicStats } from './topic-stats';

/** Labels dropped (their series summed) when topic labels are off. */
const TOPIC_LABELS = ['topic', 'consumer'] as const;

/**
 * A peer's own series, every one read at scrape: publishes, bytes and
 * latency per hosted topic (TopicStats), each log's end offset, each
 * subscriber peer's lag and retries, each consumer's lag, and whether the
 * indexer knows this peer.
 */
@Injectable()
export class PeerMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: Metrics,
    private readonly stats: TopicStats,
    private readonly positions: PeerPositions,
    private readonly indexer: IndexerLink,
  ) {}

  onModuleInit(): void {
    if (!this.metrics.enabled) return;
    const { registry } = this.metrics;
    const perTopic = (samples: Iterable<Sample>) =>
      this.metrics.topicLabels ? [...samples] : withoutLabels(samples, TOPIC_LABELS);
    const topicLabel = (topic: string | undefined): Labels =>
      topic === undefined ? {} : { topic };
    const topicNames = this.metrics.topicLabels ? ['topic'] : [];

    computedCounter({
      registry,
      name: 'pubsub_topic_publishes_total',
      help: 'Messages published to the topics this peer hosts.',
      labelNames: topicNames,
      read: () => [...this.stats.entries()].map(([topic, c]) => [topicLabel(topic), c.publishes]),
    });
    computedCounter({
      registry,
      name: 'pubsub_topic_published_bytes_total',
      help: 'Message bytes (UTF-8) published to the topics this peer hosts.',
      labelNames: topicNames,
      read: () => [...this.stats.entries()].map(([topic, c]) => [topicLabel(topic), c.bytes]),
    });
    computedHistogram({
      registry,
      name: 'pubsub_topic_publish_duration_seconds',
      help: 'Time from a hosted topic taking a publish to its acknowledgement (append; and sync with FSYNC=always).',
      read: () => [...this.stats.entries()].map(([topic, c]) => [topicLabel(topic), c.latency]),
    });
    computedGauge({
      registry,
      name: 'pubsub_topic_end_offset',
      help: 'The offset the next message of a topic log gets (summed over topics with topic labels off).',
      labelNames: [...topicNames, 'role'],
      read: () =>
        perTopic(
          [...this.positions.endOffsets()].map(({ topic, role, endOffset }) => [
            { topic, role },
            endOffset,
          ]),
        ),
    });
    computedGauge({
      registry,
      name: 'pubsub_subscriber_lag_messages',
      help: 'Messages of a hosted topic not yet acknowledged by a subscriber peer.',
      labelNames: [...topicNames, 'subscriber'],
      read: () =>
        perTopic(
          this.positions
            .subscribers()
            .map(({ topic, peerId, lag }) => [{ topic, subscriber: peerId }, lag]),
        ),
    });
    computedGauge({
      registry,
      name: 'pubsub_subscriber_lag_bytes',
      help: 'Bytes on disk of a hosted topic not yet acknowledged by a subscriber peer (to within 4 KiB).',
      labelNames: [...topicNames, 'subscriber'],
      read: () =>
        perTopic(
          this.positions
            .subscribers()
            .map(({ topic, peerId, lagBytes }) => [{ topic, subscriber: peerId }, lagBytes]),
        ),
    });
    computedCounter({
      registry,
      name: 'pubsub_delivery_retries_total',
      help: 'Deliveries to a subscriber peer retried after a failure.',
      labelNames: [...topicNames, 'subscriber'],
      read: () =>
        perTopic(
          this.positions
            .subscribers()
            .map(({ topic, peerId, retries }) => [{ topic, subscriber: peerId }, retries]),
        ),
    });
    computedGauge({
      registry,
      name: 'pubsub_consumer_lag_messages',
      help: 'Messages a named consumer on this peer has yet to pull.',
      labelNames: this.metrics.topicLabels ? ['topic', 'consumer'] : [],
      read: () =>
        perTopic(
          this.positions
            .consumerPositions()
            .map(({ topic, consumer, lag }) => [{ topic, consumer }, lag]),
        ),
    });
    computedGauge({
      registry,
      name: 'pubsub_peer_registered',
      help: '1 while the indexer knows this peer, 0 otherwise.',
      read: () => [[{}, this.indexer.isRegistered ? 1 : 0]],
    });
  }
}
