import { join } from 'path';
import { performance } from 'perf_hooks';
import { LaunchedProcess } from '@p2p-pubsub/launcher';
import { BenchCluster, REPOSITORY_ROOT } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { LatencyRecorder } from '../latency-recorder';
import { LatencyRow } from '../results';
import { PAYLOADS } from './request-matrix';

/** The published client's bin, as `npx pubsub` runs it. */
const PUBSUB_BIN = join(REPOSITORY_ROOT, 'libs/client/dist/cli/bin.js');
const TOPIC = 'bench-cli';
const RUN_TIMEOUT_MS = 120_000;

/** Runs the CLI to its end; resolves with how long that took, in ms. */
async function timed(cluster: BenchCluster, args: string[], input?: string): Promise<number> {
  let stderr = '';
  const child = cluster.children.add(
    new LaunchedProcess({
      name: `pubsub ${args[0]}`,
      script: PUBSUB_BIN,
      args,
      readiness: 'spawned',
      input: input ?? '',
      onData: (text, stream) => {
        if (stream === 'stderr') stderr += text;
      },
    }),
  );
  const started = performance.now();
  await child.start();
  const timer = setTimeout(() => void child.kill(), RUN_TIMEOUT_MS);
  const { code } = await child.whenExited();
  clearTimeout(timer);
  if (code !== 0) throw new Error(`pubsub ${args.join(' ')} exited ${code}: ${stderr}`);
  return performance.now() - started;
}

/**
 * The command-line client as people use it: how long `pubsub --help` takes
 * from spawn to exit (node's own start-up included: the client loads no
 * Nest), and `pubsub pub TOPIC` publishing 100,000 lines of stdin (100 B
 * each) on the host, spawn to exit.
 */
export async function runCli(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const [host] = cluster.peers;
  await host.client.createTopic(TOPIC);
  const starts = new LatencyRecorder();
  const startRuns = sizes.serial.count >= 1_000 ? 20 : 3;
  for (let run = 0; run < startRuns; run++) starts.record(await timed(cluster, ['--help']));

  const lines = sizes.memoryMessages >= 100_000 ? 100_000 : 2_000;
  const line = 'x'.repeat(PAYLOADS[0].bytes);
  const input = `${Array.from({ length: lines }, () => line).join('\n')}\n`;
  const elapsedMs = await timed(
    cluster,
    ['pub', TOPIC, '--peer', `127.0.0.1:${host.process.port}`],
    input,
  );
  return [
    {
      kind: 'latency',
      id: 'cli-start',
      workload: 'CLI: pubsub --help, spawn to exit',
      p50Ms: starts.percentile(50),
      p99Ms: starts.percentile(99),
      throughput: 1000 / starts.percentile(50),
      unit: 'req/s',
      operations: startRuns,
    },
    {
      kind: 'latency',
      id: 'cli-pub-stdin',
      workload: `CLI: pubsub pub of ${lines.toLocaleString('en-US')} stdin lines (100 B), spawn to exit`,
      p50Ms: elapsedMs,
      p99Ms: elapsedMs,
      throughput: (lines * 1000) / elapsedMs,
      unit: 'msg/s',
      operations: lines,
    },
  ];
}
