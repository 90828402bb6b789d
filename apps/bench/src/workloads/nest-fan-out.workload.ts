import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  AckPolicy,
  DeliverPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { LaunchedProcess, ProcessGroup } from '@p2p-pubsub/launcher';
import { BenchCluster, PeerHandle } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { SubscriberReport } from '../nats/nats-fan-out.constants';
import { memoryOf } from '../process-memory';
import { withCpu } from '../process-cpu';
import { LatencyRow, MemoryRow, SkippedRow } from '../results';
import {
  JETSTREAM_STREAM,
  JETSTREAM_SUBJECT,
  PUBSUB_FAN_OUT_TOPIC,
  STALL_TOPIC,
} from '../subscribers/subscriber.constants';
import { FanOutMeter } from './fan-out-meter';
import { FAN_OUT_IN_FLIGHT, FAN_OUT_WINDOW, fanOutRow } from './fan-out.workload';
import { findNatsServer, startNatsServer } from './nats-fan-out.workload';
import { PAYLOADS } from './request-matrix';

const PUBSUB_SUBSCRIBER = join(__dirname, '../subscribers/pubsub-subscriber.js');
const JETSTREAM_SUBSCRIBER = join(__dirname, '../subscribers/jetstream-subscriber.js');
const READY_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 30_000;
export const NEST_PUBSUB_ROW_ID = 'fanout-nest-pubsub';
export const JETSTREAM_ROW_ID = 'fanout-nest-jetstream';

/** Three Nest applications that report what their handler receives, over IPC. */
class ReportingApps {
  meter?: FanOutMeter;
  readonly apps: LaunchedProcess[] = [];
  /** Messages the stalled handler was called with. */
  handlerCalls = 0;

  constructor(
    private readonly children: ProcessGroup,
    private readonly nodeFlags: (name: string) => string[] = () => [],
  ) {}

  get pids(): number[] {
    return this.apps.map((app) => app.pid);
  }

  /** Starts one application and resolves once it says it is ready. */
  async start(name: string, script: string, args: string[]): Promise<LaunchedProcess> {
    const index = this.apps.length;
    const app = this.children.add(
      new LaunchedProcess({
        name,
        script,
        args,
        nodeFlags: this.nodeFlags(name),
        readiness: 'spawned',
        ipc: true,
        keepLines: 40,
      }),
    );
    this.apps.push(app);
    await app.start();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready`)), READY_TIMEOUT_MS);
      app.process.on('message', (report: SubscriberReport) => {
        if (report.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else {
          this.handlerCalls += report.latenciesMs.length;
          this.meter?.delivered(index, report.latenciesMs);
        }
      });
      app.process.once('exit', () => {
        const exited = new Error(`${name} exited`);
        reject(exited);
        this.meter?.fail(exited);
      });
    });
    return app;
  }

  /** A warm-up run, then the measured one, with the CPU of `pids` and of the apps. */
  async measure(
    sizes: Sizes,
    pids: number[],
    publish: () => Promise<unknown>,
  ): Promise<{ result: Awaited<ReturnType<FanOutMeter['run']>>; cpuMicros: number }> {
    const run = (messages: number) => {
      this.meter = new FanOutMeter(this.apps.length, {
        messages,
        maxMs: sizes.fanOut.maxMs,
        inFlight: FAN_OUT_IN_FLIGHT,
        window: FAN_OUT_WINDOW,
      });
      return this.meter.run(publish, DRAIN_TIMEOUT_MS);
    };
    try {
      await run(sizes.fanOut.warmup);
      return await withCpu([...pids, ...this.pids], () => run(sizes.fanOut.messages));
    } finally {
      this.meter = undefined;
    }
  }

  stop(): Promise<unknown> {
    return Promise.all(this.apps.map((app) => app.stop()));
  }
}

/**
 * Fan-out into three Nest applications through PubSubServer: each is a
 * separate process whose @EventPattern handler gets the topic from its own
 * subscriber peer (peers 2-4) over a live `consume` stream, acknowledging
 * each message as its handler returns. The bench publishes on the host
 * (peer 1), as in the long-poll fan-out. CPU counts every peer, the
 * indexer, the three applications and the bench.
 */
export async function runPubSubServerFanOut(
  cluster: BenchCluster,
  sizes: Sizes,
): Promise<LatencyRow> {
  const [host, ...subscribers] = cluster.peers;
  await host.client.createTopic(PUBSUB_FAN_OUT_TOPIC);
  const apps = new ReportingApps(cluster.children, (name) => cluster.profileFlags(name));
  try {
    await Promise.all(
      subscribers.map((peer, index) =>
        apps.start(`nest-pubsub${index + 1}`, PUBSUB_SUBSCRIBER, [
          `127.0.0.1:${peer.process.port}`,
          'fanout',
        ]),
      ),
    );
    const pids = [cluster.indexer.pid, ...cluster.peers.map((peer) => peer.process.pid)];
    const { result, cpuMicros } = await apps.measure(sizes, pids, () =>
      host.client.publish(PUBSUB_FAN_OUT_TOPIC, stampedMessage(PAYLOADS[0].bytes)),
    );
    return fanOutRow(
      NEST_PUBSUB_ROW_ID,
      'fan-out to 3 Nest apps, PubSubServer @EventPattern',
      result,
      cpuMicros,
    );
  } finally {
    await apps.stop();
  }
}

/**
 * The durable reference: the same three Nest applications over NATS
 * JetStream, a file-stored stream with one durable consumer each (explicit
 * acks, each message acked as its handler returns), through the
 * @nats-io/jetstream client; the bench publishes with JetStream's acked
 * publish. Skipped where nats-server is not installed.
 */
export async function runJetStreamFanOut(
  children: ProcessGroup,
  sizes: Sizes,
): Promise<LatencyRow | SkippedRow> {
  const workload = 'fan-out to 3 Nest apps, NATS JetStream (file, durable, explicit acks)';
  const binary = findNatsServer();
  if (!binary) {
    return {
      kind: 'skipped',
      id: JETSTREAM_ROW_ID,
      workload,
      note: 'nats-server is not on PATH (Debian: apt-get install nats-server)',
    };
  }
  const storeDir = mkdtempSync(join(tmpdir(), 'p2p-bench-jetstream-'));
  const { server, portsDir } = await startNatsServer(children, binary, storeDir);
  const url = `nats://127.0.0.1:${server.port}`;
  const connection = await connect({ servers: url });
  const apps = new ReportingApps(children);
  try {
    const manager = await jetstreamManager(connection);
    await manager.streams.add({
      name: JETSTREAM_STREAM,
      subjects: [JETSTREAM_SUBJECT],
      storage: StorageType.File,
    });
    const durables = ['app1', 'app2', 'app3'];
    for (const durable of durables) {
      await manager.consumers.add(JETSTREAM_STREAM, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
      });
    }
    await Promise.all(
      durables.map((durable, index) =>
        apps.start(`nest-jetstream${index + 1}`, JETSTREAM_SUBSCRIBER, [url, durable]),
      ),
    );
    const client = jetstream(connection);
    const { result, cpuMicros } = await apps.measure(sizes, [server.pid], () =>
      client.publish(JETSTREAM_SUBJECT, stampedMessage(PAYLOADS[0].bytes)),
    );
    return fanOutRow(JETSTREAM_ROW_ID, workload, result, cpuMicros);
  } finally {
    await apps.stop();
    await connection.close();
    await server.stop();
    rmSync(portsDir, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/**
 * A consumer that stalls: a Nest application whose handler never resolves,
 * on a subscriber peer, while `messages` are published to its topic. The
 * credit (256) bounds what the peer sends it; the rows are both processes'
 * resident memory before and after, which should not grow with the backlog.
 */
export async function runStalledConsumer(
  cluster: BenchCluster,
  sizes: Sizes,
  [host, subscriber]: PeerHandle[],
): Promise<MemoryRow[]> {
  await host.client.createTopic(STALL_TOPIC);
  const apps = new ReportingApps(cluster.children);
  try {
    const app = await apps.start('nest-stalled', PUBSUB_SUBSCRIBER, [
      `127.0.0.1:${subscriber.process.port}`,
      'stall',
    ]);
    const messages = sizes.memoryMessages / 10;
    const before = { app: memoryOf(app.pid), peer: memoryOf(subscriber.process.pid) };
    const payload = 'x'.repeat(PAYLOADS[0].bytes);
    for (let sent = 0; sent < messages;) {
      const batch = Math.min(FAN_OUT_IN_FLIGHT, messages - sent);
      await Promise.all(
        Array.from({ length: batch }, () => host.client.publish(STALL_TOPIC, payload)),
      );
      sent += batch;
    }
    // Everything published has reached the subscriber peer once its replica holds it.
    await waitForReplica(messages);
    const after = { app: memoryOf(app.pid), peer: memoryOf(subscriber.process.pid) };
    const row = (
      id: string,
      who: string,
      start: { rssMiB: number },
      end: typeof start & { peakRssMiB: number },
    ): MemoryRow => ({
      kind: 'memory',
      id,
      workload: `stalled consumer (handler never resolves, credit 256), ${who}: RSS ${start.rssMiB.toFixed(1)} → ${end.rssMiB.toFixed(1)} MiB over ${messages.toLocaleString('en-US')} messages, ${apps.handlerCalls} handled`,
      peakRssMiB: end.peakRssMiB,
      rssMiB: end.rssMiB,
      messages,
    });
    return [
      row('memory-stalled-app', 'the Nest app', before.app, after.app),
      row('memory-stalled-peer', 'its peer', before.peer, after.peer),
    ];
  } finally {
    await apps.stop();
  }

  async function waitForReplica(count: number): Promise<void> {
    const deadline = Date.now() + sizes.memoryMaxMs;
    for (;;) {
      const { subscribed } = await subscriber.client.listTopics();
      const held = subscribed.find((entry) => entry.topic === STALL_TOPIC)?.nextOffset ?? 0;
      if (held >= count) return;
      if (Date.now() > deadline)
        throw new Error(`the stalled topic's replica holds ${held} of ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
