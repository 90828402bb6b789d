import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { LatencyRow } from '../results';
import { bareEcho } from './echo.workload';
import { PAYLOADS, pairedRow } from './request-matrix';

/**
 * create_topic (claim at the indexer, then a new log on disk) on peer4, and
 * subscribe to those topics from peer3 (fresh lookup, registration with the
 * host, a new replica on disk). One at a time, as a user would do them.
 */
export async function runTopics(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const host = cluster.peers[3].client;
  const subscriber = cluster.peers[2].client;
  const created: string[] = [];
  const create = async () => {
    const topic = `bench-topic-${created.length}`;
    created.push(topic);
    await host.createTopic(topic);
  };
  const echo = bareEcho(cluster);
  const createRow = await pairedRow(
    'create_topic-x1',
    'create_topic ×1',
    create,
    echo,
    PAYLOADS[0],
    sizes.topics,
  );

  // Subscribes to as many of those topics as there are, so both are bounded alike.
  let next = 0;
  const subscribe = () => subscriber.subscribe(created[next++]);
  const subscribeRow = await pairedRow(
    'subscribe-x1',
    'subscribe ×1',
    subscribe,
    echo,
    PAYLOADS[0],
    {
      ...sizes.topics,
      count: created.length - sizes.topics.warmup,
    },
  );
  return [createRow, subscribeRow];
}
