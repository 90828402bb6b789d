import { PeerClient } from '@p2p-pubsub/client';
import { BenchCluster, PeerHandle } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { ageOf, stampedMessage } from '../clock';
import { LatencyRow } from '../results';
import { withCpu } from '../process-cpu';
import { FanOutMeter, FanOutResult, FanOutShape } from './fan-out-meter';
import { PAYLOADS, echoRowId } from './request-matrix';

const TOPIC = 'bench-fanout';
/** What each long poll asks for: as much as is there, or wait for it. */
const PULL = { consumer: 'bench', max: 1000, waitMs: 200 };
const DRAIN_TIMEOUT_MS = 30_000;

/** Shared with the NATS comparison so that both are driven alike. */
export const FAN_OUT_IN_FLIGHT = 128;
export const FAN_OUT_WINDOW = 256;
/** Every fan-out delivers each message to three consumers. */
export const FAN_OUT_CONSUMERS = 3;

export function fanOutRow(
  id: string,
  workload: string,
  result: FanOutResult,
  cpuMicros?: number,
): LatencyRow {
  return {
    ...(cpuMicros !== undefined && {
      cpuMicrosPerMessage: cpuMicros / (result.published * FAN_OUT_CONSUMERS),
    }),
    kind: 'latency',
    id,
    workload,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    throughput: result.deliveredPerSecond,
    unit: 'msg/s',
    operations: result.published,
    echoId: echoRowId(PAYLOADS[0], 128),
  };
}

/**
 * End-to-end fan-out: the bench publishes 100-byte messages on the host
 * (peer1); the three other peers subscribe, and one consumer on each pulls
 * with long polls. Counted: messages received by those consumers per second,
 * and each message's time from publish to pull.
 */
export async function runFanOut(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const result = await measureFanOut(cluster, sizes, TOPIC);
  return [
    fanOutRow(
      'fanout-pubsub',
      'fan-out to 3 subscriber peers, 100 B (long poll)',
      result,
      result.cpuMicros,
    ),
  ];
}

/**
 * The fan-out run of runFanOut on `topic`, after a warm-up run, with the
 * CPU time the cluster's processes (and the bench) spent on it.
 */
export async function measureFanOut(
  cluster: BenchCluster,
  sizes: Sizes,
  topic: string,
): Promise<FanOutResult & { cpuMicros: number }> {
  const run = await prepareFanOut(cluster, cluster.peers, topic);
  await run(sizes.fanOut.warmup, sizes.fanOut.maxMs);
  const pids = [cluster.indexer.pid, ...cluster.peers.map((peer) => peer.process.pid)];
  const { result, cpuMicros } = await withCpu(pids, () =>
    run(sizes.fanOut.messages, sizes.fanOut.maxMs),
  );
  return { ...result, cpuMicros };
}

/**
 * Sets up `topic` on `peers[0]` with the other peers subscribed and one
 * consumer connection each; returns a run of the fan-out over them.
 */
export async function prepareFanOut(
  cluster: BenchCluster,
  peers: PeerHandle[],
  topic: string,
): Promise<(messages: number, maxMs: number) => Promise<FanOutResult>> {
  const [host, ...subscribers] = peers;
  await host.client.createTopic(topic);
  for (const subscriber of subscribers) await subscriber.client.subscribe(topic);
  // Long polls park on the peer; each consumer gets its own connection so
  // that a parked poll never queues behind the other clients' requests.
  const consumers = subscribers.map((subscriber) => cluster.connect(subscriber));

  return async (messages: number, maxMs: number) => {
    const shape: FanOutShape = {
      messages,
      maxMs,
      inFlight: FAN_OUT_IN_FLIGHT,
      window: FAN_OUT_WINDOW,
    };
    const meter = new FanOutMeter(consumers.length, shape);
    const pulling = consumers.map((consumer, index) => pullInto(meter, index, consumer, topic));
    try {
      return await meter.run(
        () => host.client.publish(topic, stampedMessage(PAYLOADS[0].bytes)),
        DRAIN_TIMEOUT_MS,
      );
    } finally {
      await Promise.all(pulling);
    }
  };
}

/** One consumer: long-polls `topic` on its peer and reports each message's age to the meter. */
export async function pullInto(
  meter: FanOutMeter,
  index: number,
  client: PeerClient,
  topic: string,
): Promise<void> {
  try {
    while (!meter.isDone(index)) {
      const { messages } = await client.pull(topic, PULL);
      if (messages.length > 0)
        meter.delivered(
          index,
          messages.map((message) => ageOf(message.message)),
        );
    }
  } catch (error) {
    meter.fail(error as Error);
  }
}
