import { BenchCluster } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { ECHO_PATTERN } from '../echo/echo.constants';
import { LatencyRow } from '../results';
import { PAYLOADS, requestMatrix } from './request-matrix';

/**
 * One request to the bare echo, through the same RpcConnection the peers'
 * clients use, with a publish-shaped payload (`{topic, message}`) that it
 * sends back whole.
 */
export function bareEcho(cluster: BenchCluster): (message: string) => Promise<unknown> {
  return (message) =>
    cluster.echoConnection.request(ECHO_PATTERN, { topic: 'bench-echo', message }, message.length);
}

/**
 * The reference every ratio is quoted against: the bare echo at every
 * payload size and concurrency.
 *
 * It runs first, while the bench's own client code is still cold; the
 * workloads after it would otherwise get a client that the echo rows had
 * warmed up for them. So the whole matrix runs twice and the second pass is
 * the one reported.
 *
 * Nest's ServerTCP parses every pattern as JSON first (see TcpServer), so
 * the same echo on our TcpServer is measured too, at 100 B, as a second
 * ceiling; every ratio stays quoted against the bare Nest one.
 */
export async function runEcho(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const pass = () => requestMatrix(sizes, 'echo', 'echo (bare Nest TCP)', bareEcho(cluster));
  await pass();
  const reference = await pass();
  const onTcpServer = await requestMatrix(
    sizes,
    'echo-tcpserver',
    'echo on our TcpServer',
    (message) =>
      cluster.tcpServerEchoConnection.request(
        ECHO_PATTERN,
        { topic: 'bench-echo', message },
        message.length,
      ),
    { echo: bareEcho(cluster), payloads: [PAYLOADS[0]] },
  );
  return [...reference, ...onTcpServer];
}
