import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { Bounds, Measured, measure, measurePaired } from '../drive';
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

export function boundsFor(sizes: Sizes, payload: Payload, inFlight: number): Bounds {
  if (inFlight === 1) return sizes.serial;
  return payload.bytes > 1024 ? sizes.concurrentLarge : sizes.concurrent;
}

export function latencyRow(
  id: string,
  workload: string,
  measured: Measured,
  echoId?: string,
  pairedEcho?: Measured,
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
    pairedEcho: pairedEcho && {
      p50Ms: pairedEcho.p50Ms,
      throughput: pairedEcho.perSecond,
    },
  };
}

/**
 * A one-at-a-time workload measured in turns with the bare echo of
 * `echoPayload` (see measurePaired), as its row.
 */
export async function pairedRow(
  id: string,
  workload: string,
  operation: () => Promise<unknown>,
  echo: (message: string) => Promise<unknown>,
  echoPayload: Payload,
  bounds: Bounds,
): Promise<LatencyRow> {
  const { measured, reference } = await measurePaired(
    operation,
    () => echo(stampedMessage(echoPayload.bytes)),
    bounds,
  );
  return latencyRow(id, workload, measured, echoRowId(echoPayload, 1), reference);
}

/**
 * Runs one request-reply workload at every payload size and in-flight
 * level: `send` gets a fresh message of the payload's size each time.
 * Rows are named `<idPrefix>-<size>-x<in flight>` and quoted against the
 * echo of the same size and concurrency, which at one in flight is
 * measured in turns with the row (`echo`). The echo's own rows pass no
 * `echo`.
 */
export async function requestMatrix(
  sizes: Sizes,
  idPrefix: string,
  title: string,
  send: (message: string) => Promise<unknown>,
  {
    echo,
    payloads = PAYLOADS,
  }: {
    echo?: (message: string) => Promise<unknown>;
    payloads?: Payload[];
  } = {},
): Promise<LatencyRow[]> {
  const rows: LatencyRow[] = [];
  for (const payload of payloads) {
    for (const inFlight of IN_FLIGHT) {
      const id = `${idPrefix}-${payload.key}-x${inFlight}`;
      const workload = `${title}, ${payload.label} ×${inFlight}`;
      const operation = () => send(stampedMessage(payload.bytes));
      const bounds = boundsFor(sizes, payload, inFlight);
      if (!echo) {
        rows.push(latencyRow(id, workload, await measure(operation, inFlight, bounds)));
      } else if (inFlight === 1) {
        rows.push(await pairedRow(id, workload, operation, echo, payload, bounds));
      } else {
        rows.push(
          latencyRow(
            id,
            workload,
            await measure(operation, inFlight, bounds),
            echoRowId(payload, inFlight),
          ),
        );
      }
    }
  }
  return rows;
}
