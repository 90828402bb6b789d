import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { measure } from '../drive';
import { LatencyRow } from '../results';
import { bareEcho } from './echo.workload';
import { PAYLOADS, pairedRow } from './request-matrix';

const TOPIC = 'bench-pull';
const BATCH = 100;

/**
 * pull on the host: each request takes the next 100 messages (100 B each)
 * for its consumer and moves the consumer's position. The topic is filled
 * first; consumers take turns so that every measured pull finds a full batch.
 */
export async function runPull(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const host = cluster.peers[0].client;
  await host.createTopic(TOPIC);
  await measure(() => host.publish(TOPIC, stampedMessage(PAYLOADS[0].bytes)), 128, {
    count: sizes.pullPrefill,
    maxMs: 60_000,
    warmup: 0,
  });

  const pullsPerConsumer = Math.floor(sizes.pullPrefill / BATCH);
  let pulls = 0;
  const pull = async () => {
    const consumer = `consumer-${Math.floor(pulls++ / pullsPerConsumer)}`;
    const reply = await host.pull(TOPIC, { consumer, max: BATCH });
    if (reply.messages.length !== BATCH) {
      throw new Error(
        `pull by ${consumer} returned ${reply.messages.length} message(s), expected ${BATCH}`,
      );
    }
  };
  return [
    await pairedRow(
      'pull-x1',
      `pull ×1, ${BATCH} messages of 100 B per reply`,
      pull,
      bareEcho(cluster),
      PAYLOADS[0],
      sizes.pull,
    ),
  ];
}
