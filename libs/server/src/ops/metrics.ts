import { Counter, Gauge, Metric, Registry } from 'prom-client';

/*
 * Metrics read at scrape time. prom-client's own instruments validate and
 * hash their labels on every call, even on a child with its labels bound:
 * per publish, a histogram and two counters would have cost a noticeable
 * share of the host's CPU (README, Metrics). So the hot path only bumps
 * plain numbers (TopicCounters, RequestMeter, LatencyHistogram) and the
 * services keep their state anyway (offsets, cursors, positions); these
 * helpers turn both into series when Prometheus asks, through prom-client's
 * `collect` hook.
 */

export type Labels = Record<string, string>;

/** What a collect callback yields: one series, by its labels. */
export type Sample = readonly [labels: Labels, value: number];

interface ComputedMetric {
  registry: Registry;
  name: string;
  help: string;
  labelNames?: readonly string[];
  /** Called at each scrape; every series it does not yield disappears. */
  read: () => Iterable<Sample> | Promise<Iterable<Sample>>;
}

/** A counter whose values are counted elsewhere (plain numbers) and copied in at scrape. */
export function computedCounter({ registry, name, help, labelNames = [], read }: ComputedMetric) {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.inc(labels, value);
    },
  });
}

/** A gauge computed from the services' state at scrape. */
export function computedGauge({ registry, name, help, labelNames = [], read }: ComputedMetric) {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const samples = await read();
      this.reset();
      for (const [labels, value] of samples) this.set(labels, value);
    },
  });
}

/** Seconds: from 100 µs (a publish under FSYNC=interval) to 2.5 s (a stalled disk). */
export const LATENCY_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

/**
 * A histogram as plain numbers: `observe` finds the bucket and adds one,
 * which costs a few nanoseconds; prom-client sees it only at scrape.
 */
export class LatencyHistogram {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length + 1);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[bucket])
      bucket++;
    this.counts[bucket]++;
    this.sum += seconds;
    this.count++;
  }

  /** Adds `other` into this one (to sum over topics when topic labels are off). */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.sum += other.sum;
    this.count += other.count;
  }
}

interface ComputedHistogram {
  registry: Registry;
  name: string;
  help: string;
  read: () => Iterable<readonly [labels: Labels, histogram: LatencyHistogram]>;
}

/**
 * Registers a histogram read from LatencyHistograms at scrape. The registry
 * only calls a metric's `get()` (prom-client's own Histogram returns the
 * same shape: `_bucket` series with cumulative counts by `le`, `_sum` and
 * `_count`), so this is a Metric in all but its class.
 */
export function computedHistogram({ registry, name, help, read }: ComputedHistogram): void {
  const get = async () => {
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    for (const [labels, histogram] of read()) {
      let cumulative = 0;
      histogram.counts.forEach((count, i) => {
        cumulative += count;
        const le = i < LATENCY_BUCKETS_SECONDS.length ? String(LATENCY_BUCKETS_SECONDS[i]) : '+Inf';
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${name}_bucket` });
      });
      values.push({ labels, value: histogram.sum, metricName: `${name}_sum` });
      values.push({ labels, value: histogram.count, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', aggregator: 'sum', values };
  };
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get,
    reset() {},
  } as unknown as Metric);
}

/**
 * Drops the labels in `dropped` and sums the series that then share their
 * labels: how per-topic series are reported with topic labels off.
 */
export function withoutLabels(samples: Iterable<Sample>, dropped: readonly string[]): Sample[] {
  const sums = new Map<string, [Labels, number]>();
  for (const [labels, value] of samples) {
    const kept: Labels = {};
    for (const [name, label] of Object.entries(labels))
      if (!dropped.includes(name)) kept[name] = label;
    const key = JSON.stringify(kept);
    const entry = sums.get(key);
    if (entry) entry[1] += value;
    else sums.set(key, [kept, value]);
  }
  return [...sums.values()];
}
