import { Inject, Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { registerProcessMetrics } from './process-metrics';

export const OPS_OPTIONS = Symbol('OPS_OPTIONS');

export interface OpsOptions {
  /** `indexer` or `peer`. */
  role: string;
  /** Off with the ops port: nothing would read them, so nothing is counted. */
  metricsEnabled: boolean;
  /** False drops topic and consumer labels: series are summed over topics. */
  topicLabels: boolean;
}

/**
 * This process's metrics registry (its own, not prom-client's global one)
 * and how fine its series are. The process metrics (CPU, memory, heap,
 * event-loop lag, open file descriptors) are on whenever metrics are.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  constructor(@Inject(OPS_OPTIONS) private readonly options: OpsOptions) {
    if (options.metricsEnabled) registerProcessMetrics(this.registry);
  }

  get enabled(): boolean {
    return this.options.metricsEnabled;
  }

  get topicLabels(): boolean {
    return this.options.topicLabels;
  }
}
