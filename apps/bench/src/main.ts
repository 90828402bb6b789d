import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { writeFileSync } from 'fs';
import { loadavg } from 'os';
import { performance } from 'perf_hooks';
import { BenchCluster, REPOSITORY_ROOT } from './bench-cluster';
import { BenchOptions, USAGE, UsageError, parseBenchOptions } from './bench-options';
import { describeMachine } from './machine';
import { buildReport, rewriteReadme, textTable } from './report';
import { LatencyRow, Row } from './results';
import { runCli } from './workloads/cli.workload';
import { runEcho } from './workloads/echo.workload';
import { runFanOut } from './workloads/fan-out.workload';
import { runIndexer } from './workloads/indexer.workload';
import { runMemory } from './workloads/memory.workload';
import {
  runJetStreamFanOut,
  runPubSubServerFanOut,
  runStalledConsumer,
} from './workloads/nest-fan-out.workload';
import { runMetricsCost } from './workloads/metrics-cost.workload';
import { findNatsServer, runNatsFanOut } from './workloads/nats-fan-out.workload';
import { runPublish } from './workloads/publish.workload';
import { runPull } from './workloads/pull.workload';
import { runTls } from './workloads/tls.workload';
import { runTopics } from './workloads/topics.workload';

/**
 * npm run bench: starts its own cluster, runs every workload family in turn
 * against it and the echo reference, stops every process it started, then
 * prints one table (and writes JSON and the README's table if asked).
 */
async function main(options: BenchOptions): Promise<void> {
  const machine = describeMachine(findNatsServer());
  const cluster = new BenchCluster({ profileDir: options.profileDir });
  // Started only for the tls family: the same cluster with security on.
  const secure = new BenchCluster({ profileDir: options.profileDir, secure: true });
  // Whatever ends the bench, no process it started outlives it.
  process.once('exit', () => {
    cluster.killNow();
    secure.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the cluster\n`);
      void Promise.allSettled([cluster.stop(), secure.stop()]).finally(() => process.exit(130));
    });
  }

  const rows: Row[] = [];
  const step = async (name: string, run: () => Promise<Row | Row[]>) => {
    const started = performance.now();
    const produced = await run();
    rows.push(...(Array.isArray(produced) ? produced : [produced]));
    progress(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };
  const { sizes, families } = options;
  try {
    await step('cluster start', async () => {
      await cluster.start();
      return [];
    });
    await step('echo', () => runEcho(cluster, sizes));
    if (families.has('indexer')) await step('lookup', () => runIndexer(cluster, sizes));
    if (families.has('publish')) await step('publish', () => runPublish(cluster, sizes));
    if (families.has('pull')) await step('pull', () => runPull(cluster, sizes));
    if (families.has('fanout')) await step('fan-out', () => runFanOut(cluster, sizes));
    if (families.has('metrics'))
      await step('metrics on and off', () => runMetricsCost(cluster, sizes));
    if (families.has('nats'))
      await step('fan-out over NATS', () => runNatsFanOut(cluster.children, sizes));
    if (families.has('nest')) {
      await step('fan-out into Nest apps (PubSubServer)', () =>
        runPubSubServerFanOut(cluster, sizes),
      );
      await step('fan-out into Nest apps (JetStream)', () =>
        runJetStreamFanOut(cluster.children, sizes),
      );
    }
    if (families.has('cli')) await step('CLI', () => runCli(cluster, sizes));
    if (families.has('topics'))
      await step('create_topic and subscribe', () => runTopics(cluster, sizes));
    if (families.has('tls')) {
      await step('TLS: secured cluster start', async () => {
        await secure.start();
        return [];
      });
      await step('TLS: publish and fan-out', () =>
        runTls(
          cluster,
          secure,
          sizes,
          rows.find(
            (row): row is LatencyRow => row.id === 'fanout-pubsub' && row.kind === 'latency',
          ),
        ),
      );
      await secure.stop();
    }
    if (families.has('memory')) {
      // A host and a subscriber peer of their own: a peak of the fan-outs
      // above is not this workload's.
      const peers = await cluster.startPeers(['memory-host', 'memory-subscriber']);
      await step('memory', () => runMemory(cluster, sizes, peers));
      await step('stalled consumer', () => runStalledConsumer(cluster, sizes, peers));
    }
  } finally {
    await Promise.all([cluster.stop(), secure.stop()]);
  }
  machine.loadAfter = loadavg()[0];

  const report = buildReport(rows, machine, options.quick, [
    ...cluster.children.exits(),
    ...secure.children.exits(),
  ]);
  process.stdout.write(textTable(report));
  if (options.jsonFile) writeFileSync(options.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  if (options.readmeFile) rewriteReadme(options.readmeFile, report);
  if (options.profileDir) progress(`CPU profiles of the services are in ${options.profileDir}`);
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

// Nest's clients in this process (ClientNats) log status changes; the table is the output.
Logger.overrideLogger(['error', 'warn']);

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
let options: BenchOptions;
try {
  options = parseBenchOptions(process.argv.slice(2), REPOSITORY_ROOT);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stderr.write(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
main(options).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
