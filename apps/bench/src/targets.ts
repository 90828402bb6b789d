import { LatencyRow, Row, echoReference } from './results';
import { METRICS_ROW_IDS } from './workloads/metrics-cost.workload';
import { NATS_ROW_ID } from './workloads/nats-fan-out.workload';
import { TLS_PUBLISH_128 } from './workloads/tls.workload';
import { JETSTREAM_ROW_ID, NEST_PUBSUB_ROW_ID } from './workloads/nest-fan-out.workload';

/** One of the targets, judged on this run's rows. */
export interface TargetResult {
  rowId: string;
  target: string;
  /** What this run measured, in the target's terms. */
  actual: string;
  /** undefined: could not be judged (a row it needs was not run). */
  met: boolean | undefined;
}

const MEMORY_LIMIT_MIB = 200;

/**
 * The targets of issue 5, as ratios within one run. They are reported,
 * never asserted: a loaded machine moves the numbers, not the code.
 */
export function evaluateTargets(rows: Row[]): TargetResult[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const latency = (id: string) => {
    const row = byId.get(id);
    return row?.kind === 'latency' ? row : undefined;
  };
  const echoOf = (row: LatencyRow) => echoReference(row, rows);
  const results: TargetResult[] = [];

  const p50Within = (id: string, factor: number) => {
    const row = latency(id);
    const echo = row && echoOf(row);
    if (!row || !echo) return;
    const ratio = row.p50Ms / echo.p50Ms;
    results.push({
      rowId: id,
      target: `p50 ≤ ${factor}× echo`,
      actual: `${ratio.toFixed(2)}×`,
      met: ratio <= factor,
    });
  };
  const throughputAtLeast = (id: string, share: number) => {
    const row = latency(id);
    const echo = row && echoOf(row);
    if (!row || !echo) return;
    const ratio = row.throughput / echo.throughput;
    results.push({
      rowId: id,
      target: `throughput ≥ ${share * 100}% of echo`,
      actual: `${(ratio * 100).toFixed(0)}%`,
      met: ratio >= share,
    });
  };

  const tls = latency(TLS_PUBLISH_128);
  const plaintext = tls && echoOf(tls);
  if (tls && plaintext) {
    const ratio = tls.throughput / plaintext.throughput;
    results.push({
      rowId: tls.id,
      target: 'throughput ≥ 70% of plaintext',
      actual: `${(ratio * 100).toFixed(0)}%`,
      met: ratio >= 0.7,
    });
  }

  p50Within('publish-host-100B-x1', 1.3);
  throughputAtLeast('publish-host-100B-x128', 0.8);
  p50Within('publish-forwarded-100B-x1', 2.5);

  const fanOut = latency('fanout-pubsub');
  if (fanOut) {
    const nats = latency(NATS_ROW_ID);
    const ratio = nats ? fanOut.throughput / nats.throughput : undefined;
    results.push({
      rowId: fanOut.id,
      target: '≥ 2× the msg/s of Nest over NATS',
      actual: ratio === undefined ? 'NATS not run' : `${ratio.toFixed(2)}×`,
      met: ratio === undefined ? undefined : ratio >= 2,
    });
    results.push({
      rowId: fanOut.id,
      target: 'p99 < 20 ms',
      actual: `${fanOut.p99Ms.toFixed(1)} ms`,
      met: fanOut.p99Ms < 20,
    });
  }

  // Issue 10: PubSubServer's fan-out against JetStream (durable) and core NATS.
  const nest = latency(NEST_PUBSUB_ROW_ID);
  if (nest) {
    const versus = (id: string, times: number, name: string) => {
      const other = latency(id);
      const ratio = other ? nest.throughput / other.throughput : undefined;
      results.push({
        rowId: nest.id,
        target: `≥ ${times}× the msg/s of ${name}`,
        actual: ratio === undefined ? `${name} not run` : `${ratio.toFixed(2)}×`,
        met: ratio === undefined ? undefined : ratio >= times,
      });
    };
    versus(JETSTREAM_ROW_ID, 2, 'JetStream');
    versus(NATS_ROW_ID, 1, 'Nest over NATS');
  }
  const cliPub = latency('cli-pub-stdin');
  if (cliPub) {
    results.push({
      rowId: cliPub.id,
      target: '≥ 20,000 msg/s',
      actual: `${Math.round(cliPub.throughput).toLocaleString('en-US')} msg/s`,
      met: cliPub.throughput >= 20_000,
    });
  }
  const cliStart = latency('cli-start');
  if (cliStart) {
    results.push({
      rowId: cliStart.id,
      target: 'p50 < 300 ms',
      actual: `${cliStart.p50Ms.toFixed(0)} ms`,
      met: cliStart.p50Ms < 300,
    });
  }

  // Issue 11: metrics must not slow the hot path.
  for (const [onId, offId] of [
    [METRICS_ROW_IDS.publishOn, METRICS_ROW_IDS.publishOff],
    [METRICS_ROW_IDS.fanOutOn, METRICS_ROW_IDS.fanOutOff],
  ]) {
    const on = latency(onId);
    const off = latency(offId);
    if (!on || !off) continue;
    const ratio = on.throughput / off.throughput;
    results.push({
      rowId: onId,
      target: 'throughput ≥ 95% of metrics off',
      actual: `${(ratio * 100).toFixed(1)}%`,
      met: ratio >= 0.95,
    });
    // CPU time per operation is steadier than throughput on a shared machine.
    if (on.cpuUsPerOperation !== undefined && off.cpuUsPerOperation !== undefined) {
      const cpuRatio = on.cpuUsPerOperation / off.cpuUsPerOperation;
      results.push({
        rowId: onId,
        target: 'CPU per operation ≤ 105% of metrics off',
        actual: `${(cpuRatio * 100).toFixed(1)}% (${on.cpuUsPerOperation.toFixed(1)} vs ${off.cpuUsPerOperation.toFixed(1)} µs)`,
        met: cpuRatio <= 1.05,
      });
    }
  }

  for (const row of rows) {
    if (row.kind !== 'memory') continue;
    results.push({
      rowId: row.id,
      target: `peak RSS < ${MEMORY_LIMIT_MIB} MiB`,
      actual: `${row.peakRssMiB.toFixed(0)} MiB`,
      met: row.peakRssMiB < MEMORY_LIMIT_MIB,
    });
  }
  return results;
}
