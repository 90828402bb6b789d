import { performance } from 'perf_hooks';
import { LatencyRecorder } from './latency-recorder';

/** How long one workload runs: bounded in count and in time. */
export interface Bounds {
  /** Measured operations, at most. */
  count: number;
  /** The measured loop stops issuing after this long, whatever the count. */
  maxMs: number;
  /** Unmeasured operations first: JIT, connections and caches warm up. */
  warmup: number;
}

export interface Measured {
  p50Ms: number;
  p99Ms: number;
  /** Completed operations per second over the measured loop. */
  perSecond: number;
  operations: number;
}

/**
 * Runs `operation` with `inFlight` callers, each issuing its next operation
 * as soon as its last completes, and records each operation's latency. The
 * first failure stops every caller and is thrown.
 */
export async function measure(
  operation: () => Promise<unknown>,
  inFlight: number,
  bounds: Bounds,
): Promise<Measured> {
  await loop(operation, inFlight, bounds.warmup, bounds.maxMs);
  const latency = new LatencyRecorder();
  const started = performance.now();
  const operations = await loop(
    operation,
    inFlight,
    bounds.count,
    bounds.maxMs,
    latency,
  );
  const elapsedMs = performance.now() - started;
  return {
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
    perSecond: (operations * 1000) / elapsedMs,
    operations,
  };
}

async function loop(
  operation: () => Promise<unknown>,
  inFlight: number,
  count: number,
  maxMs: number,
  latency?: LatencyRecorder,
): Promise<number> {
  const deadline = performance.now() + maxMs;
  let issued = 0;
  let failed = false;
  const caller = async () => {
    while (!failed && issued < count && performance.now() < deadline) {
      issued++;
      const start = performance.now();
      try {
        await operation();
      } catch (error) {
        failed = true;
        throw error;
      }
      latency?.record(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, caller));
  return issued;
}
