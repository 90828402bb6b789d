import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { ClientNats } from '@nestjs/microservices';
import { LaunchedProcess, ProcessGroup } from '@p2p-pubsub/launcher';
import { lastValueFrom } from 'rxjs';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { NATS_FAN_OUT_SUBJECT, SubscriberReport } from '../nats/nats-fan-out.constants';
import { LatencyRow, SkippedRow } from '../results';
import { withCpu } from '../process-cpu';
import { FanOutMeter } from './fan-out-meter';
import { FAN_OUT_IN_FLIGHT, FAN_OUT_WINDOW, fanOutRow } from './fan-out.workload';
import { PAYLOADS } from './request-matrix';

const SUBSCRIBER_ENTRY = join(__dirname, '../nats/nats-subscriber.js');
const SUBSCRIBERS = 3;
const READY_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 30_000;
export const NATS_ROW_ID = 'fanout-nats';
const WORKLOAD = 'fan-out to 3 subscribers, Nest over NATS';

/**
 * The same fan-out through Nest's own NATS transport, what a NestJS user
 * would otherwise pick: a ClientNats in the bench emits events, nats-server
 * routes them, and three Nest microservices (separate processes, like our
 * subscriber peers) receive them in an @EventPattern handler, which reports
 * receipts and latencies back over IPC. Skipped where nats-server is not
 * installed.
 */
export async function runNatsFanOut(
  children: ProcessGroup,
  sizes: Sizes,
): Promise<LatencyRow | SkippedRow> {
  const binary = findNatsServer();
  if (!binary) {
    return {
      kind: 'skipped',
      id: NATS_ROW_ID,
      workload: WORKLOAD,
      note: 'nats-server is not on PATH (Debian: apt-get install nats-server)',
    };
  }
  const { server, portsDir } = await startNatsServer(children, binary);
  const url = `nats://127.0.0.1:${server.port}`;

  let meter: FanOutMeter | undefined;
  const subscribers = await Promise.all(
    Array.from({ length: SUBSCRIBERS }, async (_, index) => {
      const subscriber = children.add(
        new LaunchedProcess({
          name: `nats-subscriber${index + 1}`,
          script: SUBSCRIBER_ENTRY,
          args: [url],
          // It says it is ready over IPC, below.
          readiness: 'spawned',
          ipc: true,
          keepLines: 40,
        }),
      );
      await subscriber.start();
      const ready = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${subscriber.name} not ready`)),
          READY_TIMEOUT_MS,
        );
        subscriber.process.on('message', (report: SubscriberReport) => {
          if (report.type === 'ready') {
            clearTimeout(timer);
            resolve();
          } else {
            meter?.delivered(index, report.latenciesMs);
          }
        });
        subscriber.process.once('exit', () => {
          const exited = new Error(`${subscriber.name} exited`);
          reject(exited);
          meter?.fail(exited);
        });
      });
      await ready;
      return subscriber;
    }),
  );

  const client = new ClientNats({ servers: [url] });
  try {
    await client.connect();
    const publish = () =>
      lastValueFrom(client.emit(NATS_FAN_OUT_SUBJECT, stampedMessage(PAYLOADS[0].bytes)), {
        defaultValue: undefined,
      });
    const run = (messages: number) => {
      meter = new FanOutMeter(subscribers.length, {
        messages,
        maxMs: sizes.fanOut.maxMs,
        inFlight: FAN_OUT_IN_FLIGHT,
        window: FAN_OUT_WINDOW,
      });
      return meter.run(publish, DRAIN_TIMEOUT_MS);
    };
    await run(sizes.fanOut.warmup);
    const pids = [server.pid, ...subscribers.map((subscriber) => subscriber.pid)];
    const { result, cpuMicros } = await withCpu(pids, () => run(sizes.fanOut.messages));
    return fanOutRow(NATS_ROW_ID, WORKLOAD, result, cpuMicros);
  } finally {
    meter = undefined;
    await client.close();
    await Promise.all([...subscribers.map((subscriber) => subscriber.stop()), server.stop()]);
    rmSync(portsDir, { recursive: true, force: true });
  }
}

/**
 * Starts nats-server on a port of its choosing (with JetStream, storing in
 * `jetStreamDir`, when given); ready once its ports file says where it listens.
 */
export async function startNatsServer(
  children: ProcessGroup,
  binary: string,
  jetStreamDir?: string,
): Promise<{ server: LaunchedProcess; portsDir: string }> {
  // nats-server's own ready file: it writes its ports once it accepts clients.
  const portsDir = mkdtempSync(join(tmpdir(), 'p2p-bench-nats-'));
  const server = await children
    .add(
      new LaunchedProcess({
        name: jetStreamDir ? 'nats-server-jetstream' : 'nats-server',
        command: binary,
        args: [
          '-a',
          '127.0.0.1',
          '-p',
          '-1',
          '--ports_file_dir',
          portsDir,
          ...(jetStreamDir ? ['-js', '-sd', jetStreamDir] : []),
        ],
        readiness: (nats) => natsClientPort(join(portsDir, `nats-server_${nats.pid}.ports`)),
        stopSignal: 'SIGINT',
        keepLines: 40,
      }),
    )
    .start();
  return { server, portsDir };
}

/** The client port from nats-server's ports file, once it is there. */
function natsClientPort(portsFile: string): number | undefined {
  try {
    const ports = JSON.parse(readFileSync(portsFile, 'utf8')) as { nats?: string[] };
    const port = Number(new URL(ports.nats?.[0] ?? '').port);
    return port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** nats-server's path, if it is on PATH. */
export function findNatsServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
