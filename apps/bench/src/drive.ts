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
  const operations = await loop(operation, inFlight, bounds.count, bounds.maxMs, latency);
  const elapsedMs = performance.now() - started;
  return {
    p50Ms: latency.percentile(50),
    p99Ms: latency.percentile(99),
    perSecond: (operations * 1000) / elapsedMs,
    operations,
  };
}

/** Operations each side runs per turn in measurePaired. */
const TURN = 100;

/**
 * One request at a time, taking turns with `reference` in short runs, so
 * that both see the same machine. At one in flight the latency is mostly
 * the wake-up of two processes, which on a virtual machine drifts by tens
 * of microseconds over a run: measured minutes apart, two services could
 * not be compared. The count and time bounds cover both sides.
 */
export async function measurePaired(
  operation: () => Promise<unknown>,
  reference: () => Promise<unknown>,
  bounds: Bounds,
): Promise<{ measured: Measured; reference: Measured }> {
  const sides = [operation, reference].map((run) => ({
    run,
    latency: new LatencyRecorder(),
    busyMs: 0,
  }));
  for (const side of sides) await loop(side.run, 1, bounds.warmup, bounds.maxMs);
  const deadline = performance.now() + bounds.maxMs;
  while (sides[0].latency.size < bounds.count && performance.now() < deadline) {
    const turn = Math.min(TURN, bounds.count - sides[0].latency.size);
    for (const side of sides) {
      const turnStart = performance.now();
      await loop(side.run, 1, turn, bounds.maxMs, side.latency);
      side.busyMs += performance.now() - turnStart;
    }
  }
  const [measured, paired] = sides.map((side): Measured => ({
    p50Ms: side.latency.percentile(50),
    p99Ms: side.latency.percentile(99),
    perSecond: (side.latency.size * 1000) / side.busyMs,
    operations: side.latency.size,
  }));
  return { measured, reference: paired };
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
