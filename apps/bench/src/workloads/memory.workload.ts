import { BenchCluster, PeerHandle } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { memoryOf } from '../process-memory';
import { MemoryRow } from '../results';
import { FanOutMeter } from './fan-out-meter';
import { pullInto } from './fan-out.workload';
import { PAYLOADS } from './request-matrix';

const TOPIC = 'bench-memory';
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Memory under sustained traffic: many 100-byte messages published on a
 * host, delivered to one subscriber peer and pulled there by a consumer,
 * then each process's resident memory read from /proc. Both peers are
 * started for these rows (see main.ts), so that the peak (VmHWM, over a
 * process's life) is this workload's, not the earlier workloads'.
 */
export async function runMemory(
  cluster: BenchCluster,
  sizes: Sizes,
  [host, subscriber]: PeerHandle[],
): Promise<MemoryRow[]> {
  await host.client.createTopic(TOPIC);
  await subscriber.client.subscribe(TOPIC);
  const consumer = cluster.connect(subscriber);

  // One consumer; the publisher stays at most this far ahead of it.
  const meter = new FanOutMeter(1, {
    messages: sizes.memoryMessages,
    maxMs: sizes.memoryMaxMs,
    inFlight: 128,
    window: 10_000,
  });
  const pulling = pullInto(meter, 0, consumer, TOPIC);
  let published: number;
  try {
    ({ published } = await meter.run(
      () => host.client.publish(TOPIC, stampedMessage(PAYLOADS[0].bytes)),
      DRAIN_TIMEOUT_MS,
    ));
  } finally {
    await pulling;
  }

  const count = published.toLocaleString('en-US');
  const row = (id: string, peer: PeerHandle, role: string): MemoryRow => ({
    kind: 'memory',
    id,
    workload: `memory, ${role} (${count} × 100 B)`,
    ...memoryOf(peer.process.pid),
    messages: published,
  });
  return [
    row('memory-host', host, 'host'),
    row('memory-subscriber', subscriber, 'subscriber peer'),
  ];
}
