import { Injectable, OnModuleInit } from '@nestjs/common';
import { performance } from 'perf_hooks';
import { LatencyHistogram, Metrics } from '@p2p-pubsub/server';
import { LogStore } from '../log/log-store';

export interface TopicCounters {
  publishes: number;
  /** Message bytes (UTF-8) accepted. */
  bytes: number;
  /** From the host taking a publish to its acknowledgement being ready (append, and sync with FSYNC=always). */
  latency: LatencyHistogram;
}

function newCounters(): TopicCounters {
  return { publishes: 0, bytes: 0, latency: new LatencyHistogram() };
}

/**
 * The one thing metrics add to the publish path: per hosted topic, a count,
 * bytes and the latency, as plain numbers (read at scrape by PeerMetrics).
 * With metrics off (no ops port) both calls return at once; with topic
 * labels off every topic shares one set of counters.
 */
@Injectable()
export class TopicStats implements OnModuleInit {
  private readonly enabled: boolean;
  private readonly perTopic: boolean;
  private readonly byTopic = new Map<string, TopicCounters>();
  private readonly allTopics = newCounters();

  constructor(
    metrics: Metrics,
    private readonly store: LogStore,
  ) {
    this.enabled = metrics.enabled;
    this.perTopic = metrics.topicLabels;
  }

  onModuleInit(): void {
    this.store.onDrop((topic) => this.byTopic.delete(topic));
  }

  /** Where a publish starts, for `published`. */
  now(): number {
    return this.enabled ? performance.now() : 0;
  }

  published(topic: string, bytes: number, startedAt: number): void {
    if (!this.enabled) return;
    let counters = this.perTopic ? this.byTopic.get(topic) : this.allTopics;
    if (counters === undefined) {
      counters = newCounters();
      this.byTopic.set(topic, counters);
    }
    counters.publishes++;
    counters.bytes += bytes;
    counters.latency.observe((performance.now() - startedAt) / 1000);
  }

  /** Counters by topic; one entry without a topic when topic labels are off. */
  entries(): Iterable<readonly [topic: string | undefined, counters: TopicCounters]> {
    return this.perTopic ? this.byTopic : [[undefined, this.allTopics]];
  }
}
