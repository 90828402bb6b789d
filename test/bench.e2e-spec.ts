// Guards against the benchmark harness rotting: `npm run bench -- --quick`
// must still start its cluster, run every workload (the Nest applications
// of the fan-outs and the CLI included), produce every row of
// the table (with numbers, never judged for speed), stop every process it
// started and rewrite only its own part of a README.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DEADLINE_MS } from './support/deadline';
import { isAlive } from './support/proc';
import { ENTRY, Outcome, runToEnd } from './support/processes';

interface BenchRow {
  kind: 'latency' | 'memory' | 'skipped';
  id: string;
  workload: string;
  p50Ms?: number;
  p99Ms?: number;
  throughput?: number;
  operations?: number;
  cpuMicrosPerMessage?: number;
  pairedEcho?: { p50Ms: number; throughput: number };
  reference?: string;
  echoId?: string;
  peakRssMiB?: number;
  rssMiB?: number;
  messages?: number;
  note?: string;
}

interface BenchJson {
  quick: boolean;
  rows: BenchRow[];
  targets: Array<{ rowId: string; target: string; actual: string }>;
  processes: Array<{
    name: string;
    pid: number;
    code: number | null;
    signal: string | null;
  }>;
}

const sizesAndConcurrency = ['100B', '10KiB'].flatMap((size) =>
  [1, 16, 128].map((n) => `${size}-x${n}`),
);
const LATENCY_ROWS = [
  ...sizesAndConcurrency.map((suffix) => `echo-${suffix}`),
  ...[1, 16, 128].map((n) => `echo-tcpserver-100B-x${n}`),
  'lookup-x1',
  'lookup-x128',
  ...sizesAndConcurrency.map((suffix) => `publish-host-${suffix}`),
  ...sizesAndConcurrency.map((suffix) => `publish-forwarded-${suffix}`),
  'pull-x1',
  'fanout-pubsub',
  'fanout-nest-pubsub',
  'cli-start',
  'cli-pub-stdin',
  'metrics-on-publish-host-100B-x128',
  'metrics-off-publish-host-100B-x128',
  'metrics-on-fanout',
  'metrics-off-fanout',
  'create_topic-x1',
  'subscribe-x1',
  'publish-host-tls-100B-x1',
  'publish-host-tls-100B-x128',
  'fanout-pubsub-tls',
];
const MEMORY_ROWS = [
  'memory-host',
  'memory-subscriber',
  'memory-stalled-app',
  'memory-stalled-peer',
];
/** Fan-out rows also report the CPU time of every process per delivered message. */
const CPU_ROWS = ['fanout-pubsub', 'fanout-nest-pubsub'];
const README =
  '# Project\n\nIntro.\n\n## Benchmark\n\nHow to run it.\n\n## Developing\n\nUnchanged.\n';

function runBench(args: string[]): Promise<Outcome> {
  // A quick run takes a minute or so on a busy machine (it starts 18
  // services: the cluster, the metrics pairs, the TLS cluster); the bound
  // only catches a bench that hangs.
  return runToEnd({ script: ENTRY.bench, args, timeoutMs: 4 * DEADLINE_MS });
}

describe('npm run bench -- --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-bench-e2e-'));
  const jsonFile = join(dir, 'bench.json');
  const readmeFile = join(dir, 'README.md');
  let run: Outcome;
  let report: BenchJson;

  beforeAll(async () => {
    writeFileSync(readmeFile, README);
    run = await runBench(['--quick', '--json', jsonFile, '--readme-file', readmeFile]);
    if (run.code !== 0) throw new Error(`bench exited ${run.code ?? run.signal}:\n${run.stderr}`);
    report = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchJson;
  }, 5 * DEADLINE_MS);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every latency workload with positive numbers', () => {
    expect(report.quick).toBe(true);
    for (const id of LATENCY_ROWS) {
      const row = report.rows.find((candidate) => candidate.id === id);
      expect(row).toMatchObject({ id, kind: 'latency' });
      expect(row!.p50Ms).toBeGreaterThan(0);
      expect(row!.p99Ms).toBeGreaterThanOrEqual(row!.p50Ms!);
      expect(row!.throughput).toBeGreaterThan(0);
      expect(row!.operations).toBeGreaterThan(0);
    }
  });

  it('measures each row at 1 in flight in turns with the bare echo', () => {
    const paired = LATENCY_ROWS.filter((id) => id.endsWith('-x1') && !id.startsWith('echo-'));
    for (const id of [...paired, 'echo-tcpserver-100B-x1']) {
      const row = report.rows.find((candidate) => candidate.id === id);
      expect(row?.pairedEcho?.p50Ms).toBeGreaterThan(0);
      expect(row?.pairedEcho?.throughput).toBeGreaterThan(0);
    }
  });

  it('quotes each TLS row against the same workload in plaintext', () => {
    for (const id of ['publish-host-tls-100B-x1', 'publish-host-tls-100B-x128']) {
      const row = report.rows.find((candidate) => candidate.id === id);
      expect(row).toMatchObject({ reference: 'plaintext' });
      expect(row?.pairedEcho?.throughput).toBeGreaterThan(0);
    }
    expect(report.rows.find((row) => row.id === 'fanout-pubsub-tls')).toMatchObject({
      reference: 'plaintext',
      echoId: 'fanout-pubsub',
    });
    expect(run.stdout).toMatch(/% of plaintext/);
  });

  it('reads the memory of the host and of a subscriber peer after messages passed through', () => {
    for (const id of MEMORY_ROWS) {
      const row = report.rows.find((candidate) => candidate.id === id);
      expect(row).toMatchObject({ id, kind: 'memory' });
      expect(row!.peakRssMiB).toBeGreaterThan(0);
      expect(row!.rssMiB).toBeGreaterThan(0);
      expect(row!.messages).toBeGreaterThan(0);
    }
  });

  it('counts the CPU time per delivered message of every fan-out', () => {
    for (const id of CPU_ROWS) {
      const row = report.rows.find((candidate) => candidate.id === id);
      expect(row?.cpuMicrosPerMessage).toBeGreaterThan(0);
    }
  });

  it.each(['fanout-nats', 'fanout-nest-jetstream'])(
    'measures the %s reference, or says why it was skipped',
    (id) => {
      const row = report.rows.find((candidate) => candidate.id === id);
      if (row?.kind === 'skipped') {
        expect(row.note).toContain('nats-server');
      } else {
        expect(row).toMatchObject({ kind: 'latency' });
        expect(row!.throughput).toBeGreaterThan(0);
        expect(row!.cpuMicrosPerMessage).toBeGreaterThan(0);
      }
    },
  );

  it("judges the issue's targets as ratios, without asserting any of them", () => {
    const judged = new Set(report.targets.map((target) => target.rowId));
    for (const id of [
      'publish-host-100B-x1',
      'publish-host-100B-x128',
      'publish-forwarded-100B-x1',
      'fanout-pubsub',
      'publish-host-tls-100B-x128',
      'fanout-nest-pubsub',
      'cli-pub-stdin',
      'cli-start',
      'metrics-on-publish-host-100B-x128',
      'metrics-on-fanout',
      ...MEMORY_ROWS,
    ]) {
      expect(judged).toContain(id);
    }
  });

  it('prints one table with every row', () => {
    for (const row of report.rows) expect(run.stdout).toContain(row.workload);
  });

  it('leaves no process it started running', () => {
    expect(report.processes.length).toBeGreaterThanOrEqual(6);
    for (const child of report.processes) {
      expect(child.code !== null || child.signal !== null).toBe(true);
      expect(isAlive(child.pid)).toBe(false);
    }
  });

  it("rewrites only the Benchmark section's generated part of the README", () => {
    const readme = readFileSync(readmeFile, 'utf8');
    const start = readme.indexOf('<!-- bench:start -->');
    const end = readme.indexOf('<!-- bench:end -->');
    expect(start).toBeGreaterThan(readme.indexOf('## Benchmark'));
    expect(end).toBeGreaterThan(start);
    expect(readme.slice(start, end)).toContain('| Workload |');
    expect(readme.slice(0, start)).toBe('# Project\n\nIntro.\n\n## Benchmark\n\n');
    expect(readme.slice(end)).toContain('How to run it.\n\n## Developing\n\nUnchanged.\n');
  });
});
