import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { ECHO_PATTERN } from '../echo/echo.constants';
import { LatencyRow } from '../results';
import { requestMatrix } from './request-matrix';

/**
 * The reference every ratio is quoted against: the bare echo service driven
 * by the same RpcConnection the peers' clients use, with a publish-shaped
 * payload (`{topic, message}`) that it sends back whole.
 */
export async function runEcho(
  cluster: BenchCluster,
  sizes: Sizes,
): Promise<LatencyRow[]> {
  return requestMatrix(
    sizes,
    'echo',
    'echo (bare Nest TCP)',
    (message) =>
      cluster.echoConnection.request(
        ECHO_PATTERN,
        { topic: 'bench-echo', message },
        message.length,
      ),
    { isReference: true },
  );
}
