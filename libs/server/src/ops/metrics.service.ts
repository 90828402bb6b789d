import { Inject, Injectable } from '@nestjs/common';
import { Registry, collectDefaultMetrics } from 'prom-client';

export const OPS_OPTIONS = Symbol('OPS_OPTIONS');

export interface OpsOptions {
  /** `indexer` or `peer`. */
  role: string;
  /** Off with the ops port: nothing would read them, so nothing is counted. */
  metricsEnabled: boolean;
  /** False drops topic and consumer labels: series are summed over topics. */
  topicLabels: boolean;
}

const UNCHECKABLE_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * This process's metrics registry (its own, not prom-client's global one)
 * and how fine its series are. The default process metrics (CPU, heap,
 * event-loop lag, open file descriptors, GC) are on whenever metrics are.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  constructor(@Inject(OPS_OPTIONS) private readonly options: OpsOptions) {
    if (!options.metricsEnabled) return;
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters: `promtool check metrics` refuses them.
    for (const name of UNCHECKABLE_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
  }

  get enabled(): boolean {
    return this.options.metricsEnabled;
  }

  get topicLabels(): boolean {
    return this.options.topicLabels;
  }
}
