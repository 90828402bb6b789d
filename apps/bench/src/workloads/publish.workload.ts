import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { LatencyRow } from '../results';
import { bareEcho } from './echo.workload';
import { requestMatrix } from './request-matrix';

const TOPIC = 'bench-publish';

/**
 * Publish on the topic's host (peer1) and forwarded from a peer that does
 * not host it (peer2, which looks the host up once and keeps a connection
 * to it). The topic has no subscribers: fan-out is measured on its own.
 */
export async function runPublish(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const [host, forwarder] = cluster.peers;
  await host.client.createTopic(TOPIC);
  return [
    ...(await requestMatrix(
      sizes,
      'publish-host',
      'publish on the host',
      (message) => host.client.publish(TOPIC, message),
      { echo: bareEcho(cluster) },
    )),
    ...(await requestMatrix(
      sizes,
      'publish-forwarded',
      'publish forwarded',
      (message) => forwarder.client.publish(TOPIC, message),
      { echo: bareEcho(cluster) },
    )),
  ];
}
