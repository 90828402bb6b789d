import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { measure } from '../drive';
import { LatencyRow } from '../results';
import { PAYLOADS, echoRowId, latencyRow } from './request-matrix';

const TOPIC = 'bench-lookup';

/**
 * lookup at the indexer: a map read behind the whole Nest pipeline
 * (validation pipe, error filter, in-flight interceptor), so next to the
 * echo it shows what that pipeline costs per request.
 */
export async function runIndexer(
  cluster: BenchCluster,
  sizes: Sizes,
): Promise<LatencyRow[]> {
  await cluster.peers[0].client.createTopic(TOPIC);
  const lookup = () => cluster.indexerClient.lookup(TOPIC);
  const small = PAYLOADS[0];
  return [
    latencyRow(
      'lookup-x1',
      'lookup at the indexer ×1',
      await measure(lookup, 1, sizes.serial),
      echoRowId(small, 1),
    ),
    latencyRow(
      'lookup-x128',
      'lookup at the indexer ×128',
      await measure(lookup, 128, sizes.concurrent),
      echoRowId(small, 128),
    ),
  ];
}
