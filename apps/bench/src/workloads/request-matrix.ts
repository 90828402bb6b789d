import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { Bounds, Measured, measure } from '../drive';
import { LatencyRow } from '../results';

export interface Payload {
  /** For row ids. */
  key: string;
  label: string;
  bytes: number;
}

export const PAYLOADS: Payload[] = [
  { key: '100B', label: '100 B', bytes: 100 },
  { key: '10KiB', label: '10 KiB', bytes: 10 * 1024 },
];

export const IN_FLIGHT = [1, 16, 128];

export function echoRowId(payload: Payload, inFlight: number): string {
  return `echo-${payload.key}-x${inFlight}`;
}

export function boundsFor(
  sizes: Sizes,
  payload: Payload,
  inFlight: number,
): Bounds {
  if (inFlight === 1) return sizes.serial;
  return payload.bytes > 1024 ? sizes.concurrentLarge : sizes.concurrent;
}

export function latencyRow(
  id: string,
  workload: string,
  measured: Measured,
  echoId?: string,
): LatencyRow {
  return {
    kind: 'latency',
    id,
    workload,
    p50Ms: measured.p50Ms,
    p99Ms: measured.p99Ms,
    throughput: measured.perSecond,
    unit: 'req/s',
    operations: measured.operations,
    echoId,
  };
}

/**
 * Runs one request-reply workload at every payload size and in-flight
 * level: `send` gets a fresh message of the payload's size each time.
 * Rows are named `<idPrefix>-<size>-x<in flight>` and, unless they are the
 * echo rows themselves, quoted against the echo row of the same size and
 * concurrency.
 */
export async function requestMatrix(
  sizes: Sizes,
  idPrefix: string,
  title: string,
  send: (message: string) => Promise<unknown>,
  { isReference = false, payloads = PAYLOADS } = {},
): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const payload of payloads) {
    for (const inFlight of IN_FLIGHT) {
      const measured = await measure(
        () => send(stampedMessage(payload.bytes)),
        inFlight,
        boundsFor(sizes, payload, inFlight),
      );
      rows.push(
        latencyRow(
          `${idPrefix}-${payload.key}-x${inFlight}`,
          `${title}, ${payload.label} ×${inFlight}`,
          measured,
          isReference ? undefined : echoRowId(payload, inFlight),
        ),
      );
    }
  }
  return rows;
}
