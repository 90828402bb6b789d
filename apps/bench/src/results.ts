/** A request/response or message-flow workload: latency percentiles and a rate. */
export interface LatencyRow {
  kind: 'latency';
  /** Stable key for machines (--json) and for targets, e.g. `publish-host-100B-x1`. */
  id: string;
  workload: string;
  p50Ms: number;
  p99Ms: number;
  throughput: number;
  unit: 'req/s' | 'msg/s';
  /** Operations (or messages) measured. */
  operations: number;
  /** CPU time per delivered message, summed over every process of the run (fan-out rows). */
  cpuMicrosPerMessage?: number;
  /** The bare echo row this row's ratios are quoted against. */
  echoId?: string;
  /**
   * At one in flight: the bare echo measured in turns with this row, which
   * its ratios use instead of the echo row (see measurePaired).
   */
  pairedEcho?: { p50Ms: number; throughput: number };
  /**
   * `plaintext`: the row is a TLS row, and its "echo" (echoId or
   * pairedEcho) is the same workload in plaintext, in the same run.
   */
  reference?: 'plaintext';
  /** CPU time of the measured services per operation, from /proc (the metrics rows). */
  cpuUsPerOperation?: number;
}

/** Resident memory of one process after a workload. */
export interface MemoryRow {
  kind: 'memory';
  id: string;
  workload: string;
  /** VmHWM: the highest resident set over the process's whole life. */
  peakRssMiB: number;
  /** VmRSS when measured. */
  rssMiB: number;
  /** Messages that had passed through the topic. */
  messages: number;
}

/** A workload this machine cannot run (nats-server not installed). */
export interface SkippedRow {
  kind: 'skipped';
  id: string;
  workload: string;
  note: string;
}

export type Row = LatencyRow | MemoryRow | SkippedRow;

/** What a row's ratios are quoted against: its paired echo, or its echo row. */
export function echoReference(
  row: LatencyRow,
  rows: readonly Row[],
): { p50Ms: number; throughput: number } | undefined {
  if (row.pairedEcho) return row.pairedEcho;
  const echo = rows.find((candidate) => candidate.id === row.echoId);
  return echo?.kind === 'latency' ? echo : undefined;
}
