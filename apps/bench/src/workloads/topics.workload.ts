import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { measure } from '../drive';
import { LatencyRow } from '../results';
import { PAYLOADS, echoRowId, latencyRow } from './request-matrix';

/**
 * create_topic (claim at the indexer, then a new log on disk) on peer4, and
 * subscribe to those topics from peer3 (fresh lookup, registration with the
 * host, a new replica on disk). One at a time, as a user would do them.
 */
export async function runTopics(
  cluster: BenchCluster,
  sizes: Sizes,
): Promise<LatencyRow[]> {
  const host = cluster.peers[3].client;
  const subscriber = cluster.peers[2].client;
  const created: string[] = [];
  const create = async () => {
    const topic = `bench-topic-${created.length}`;
    created.push(topic);
    await host.createTopic(topic);
  };
  const createRow = latencyRow(
    'create_topic-x1',
    'create_topic ×1',
    await measure(create, 1, sizes.topics),
    echoRowId(PAYLOADS[0], 1),
  );

  // Subscribes to as many of those topics as there are, so both are bounded alike.
  let next = 0;
  const subscribe = () => subscriber.subscribe(created[next++]);
  const subscribeRow = latencyRow(
    'subscribe-x1',
    'subscribe ×1',
    await measure(subscribe, 1, {
      ...sizes.topics,
      count: created.length - sizes.topics.warmup,
    }),
    echoRowId(PAYLOADS[0], 1),
  );
  return [createRow, subscribeRow];
}
