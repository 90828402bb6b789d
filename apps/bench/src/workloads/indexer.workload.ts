import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { measure } from '../drive';
import { LatencyRow } from '../results';
import { bareEcho } from './echo.workload';
import { PAYLOADS, echoRowId, latencyRow, pairedRow } from './request-matrix';

const TOPIC = 'bench-lookup';

/**
 * lookup at the indexer: a map read behind the whole Nest pipeline
 * (validation pipe, error filter, in-flight count), so next to the
 * echo it shows what that pipeline costs per request.
 */
export async function runIndexer(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  await cluster.peers[0].client.createTopic(TOPIC);
  const lookup = () => cluster.indexerClient.lookup(TOPIC);
  const small = PAYLOADS[0];
  return [
    await pairedRow(
      'lookup-x1',
      'lookup at the indexer ×1',
      lookup,
      bareEcho(cluster),
      small,
      sizes.serial,
    ),
    latencyRow(
      'lookup-x128',
      'lookup at the indexer ×128',
      await measure(lookup, 128, sizes.concurrent),
      echoRowId(small, 128),
    ),
  ];
}
