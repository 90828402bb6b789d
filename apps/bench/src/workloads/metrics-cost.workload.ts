import { request } from 'http';
import { BenchCluster, PeerHandle } from '../bench-cluster';
import { Sizes } from '../bench-options';
import { stampedMessage } from '../clock';
import { measure } from '../drive';
import { cpuMicrosOf } from '../process-cpu';
import { LatencyRow } from '../results';
import { FanOutResult } from './fan-out-meter';
import { prepareFanOut } from './fan-out.workload';
import { PAYLOADS, echoRowId } from './request-matrix';

const PUBLISH_TOPIC = 'bench-metrics-publish';
const FAN_OUT_TOPIC = 'bench-metrics-fanout';
const IN_FLIGHT = 128;
/** Each side runs this many times, alternating, so that both see the same machine. */
const TURNS = 4;
/** As compose's Prometheus does (monitoring/prometheus.yml). */
const SCRAPE_EVERY_MS = 5_000;

export const METRICS_ROW_IDS = {
  publishOn: 'metrics-on-publish-host-100B-x128',
  publishOff: 'metrics-off-publish-host-100B-x128',
  fanOutOn: 'metrics-on-fanout',
  fanOutOff: 'metrics-off-fanout',
} as const;

/** One side's turns, added up. */
class Side {
  operations = 0;
  elapsedMs = 0;
  /** CPU time the side's peers used during its turns. */
  cpuMs = 0;
  readonly p50s: number[] = [];
  readonly p99s: number[] = [];

  constructor(readonly peers: PeerHandle[]) {}

  /** Runs one turn, adding its figures and the CPU time of `measuredPeers`. */
  async turn(
    measuredPeers: PeerHandle[],
    run: () => Promise<{ operations: number; perSecond: number; p50Ms: number; p99Ms: number }>,
  ): Promise<void> {
    const cpu = () =>
      measuredPeers.reduce((sum, peer) => sum + cpuMicrosOf(peer.process.pid) / 1000, 0);
    const before = cpu();
    const { operations, perSecond, p50Ms, p99Ms } = await run();
    this.cpuMs += cpu() - before;
    this.operations += operations;
    this.elapsedMs += (operations * 1000) / perSecond;
    this.p50s.push(p50Ms);
    this.p99s.push(p99Ms);
  }

  row(id: string, workload: string, unit: LatencyRow['unit']): LatencyRow {
    return {
      kind: 'latency',
      id,
      workload,
      // Percentiles of a side are the median of its turns' percentiles.
      p50Ms: median(this.p50s),
      p99Ms: median(this.p99s),
      throughput: (this.operations * 1000) / this.elapsedMs,
      unit,
      operations: this.operations,
      cpuUsPerOperation: (this.cpuMs * 1000) / this.operations,
      echoId: echoRowId(PAYLOADS[0], IN_FLIGHT),
    };
  }
}

/**
 * What metrics cost the hot path: publish ×128 on a host and the fan-out,
 * on four peers with metrics on (/metrics scraped every 5 s) and four
 * alike with OPS_PORT=0 (nothing counted), in turns (on, off, off, on, ...)
 * so that both sides see the same machine. Besides throughput, each side's
 * CPU time per operation is read from /proc: the host's per publish, all
 * four peers' per message received by the fan-out's consumers.
 */
export async function runMetricsCost(cluster: BenchCluster, sizes: Sizes): Promise<LatencyRow[]> {
  const pairs = await cluster.startMetricsPairs();
  const sides = { on: new Side(pairs.on), off: new Side(pairs.off) };
  const scraper = new Scraper(pairs.on.map((peer) => cluster.opsPortOf(peer)!));
  try {
    // Topic names are the cluster's (one indexer): each side has its own.
    const topicOf = (base: string, side: Side) =>
      `${base}-${side.peers === pairs.on ? 'on' : 'off'}`;
    const publishSides = await inTurns(sides, async (side, turn) => {
      const [host] = side.peers;
      const topic = topicOf(PUBLISH_TOPIC, side);
      if (turn === 0) await host.client.createTopic(topic);
      const bounds = {
        count: Math.ceil(sizes.concurrent.count / TURNS),
        maxMs: sizes.concurrent.maxMs,
        warmup: turn === 0 ? sizes.concurrent.warmup : 0,
      };
      await side.turn([host], () =>
        measure(
          () => host.client.publish(topic, stampedMessage(PAYLOADS[0].bytes)),
          IN_FLIGHT,
          bounds,
        ),
      );
    });

    const fanOutRuns = new Map<Side, (m: number, ms: number) => Promise<FanOutResult>>();
    const fanOutSides = await inTurns(freshSides(sides), async (side, turn) => {
      if (turn === 0) {
        const run = await prepareFanOut(cluster, side.peers, topicOf(FAN_OUT_TOPIC, side));
        fanOutRuns.set(side, run);
        await run(sizes.fanOut.warmup, sizes.fanOut.maxMs);
      }
      const run = fanOutRuns.get(side)!;
      await side.turn(side.peers, async () => {
        const result = await run(Math.ceil(sizes.fanOut.messages / TURNS), sizes.fanOut.maxMs);
        // Messages received by the three consumers, as the fan-out row counts them.
        return {
          operations: result.published * 3,
          perSecond: result.deliveredPerSecond,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
        };
      });
    });

    return [
      publishSides.on.row(
        METRICS_ROW_IDS.publishOn,
        'publish on the host, 100 B ×128, metrics on (scraped every 5 s)',
        'req/s',
      ),
      publishSides.off.row(
        METRICS_ROW_IDS.publishOff,
        'publish on the host, 100 B ×128, metrics off (OPS_PORT=0), in turns with on',
        'req/s',
      ),
      fanOutSides.on.row(
        METRICS_ROW_IDS.fanOutOn,
        'fan-out to 3 subscriber peers, 100 B, metrics on (scraped every 5 s)',
        'msg/s',
      ),
      fanOutSides.off.row(
        METRICS_ROW_IDS.fanOutOff,
        'fan-out to 3 subscriber peers, 100 B, metrics off, in turns with on',
        'msg/s',
      ),
    ];
  } finally {
    await scraper.stop();
  }
}

/** The same peers, with nothing counted yet. */
function freshSides(sides: { on: Side; off: Side }): { on: Side; off: Side } {
  return { on: new Side(sides.on.peers), off: new Side(sides.off.peers) };
}

/** Runs `turn` TURNS times per side, alternating which side goes first. */
async function inTurns(
  sides: { on: Side; off: Side },
  turn: (side: Side, index: number) => Promise<void>,
): Promise<{ on: Side; off: Side }> {
  for (let index = 0; index < TURNS; index++) {
    const order = index % 2 === 0 ? [sides.on, sides.off] : [sides.off, sides.on];
    for (const side of order) await turn(side, index);
  }
  return sides;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** GETs /metrics on every port in turn, every SCRAPE_EVERY_MS, until stopped. */
class Scraper {
  private stopped = false;
  private readonly running: Promise<void>;

  constructor(private readonly ports: number[]) {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      for (const port of this.ports) await scrapeOnce(port);
      const rest = SCRAPE_EVERY_MS - (Date.now() - started);
      if (rest > 0 && !this.stopped) await new Promise((resolve) => setTimeout(resolve, rest));
    }
  }
}

function scrapeOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`/metrics: ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
