// Guards the peer's resource bounds: descriptors do not grow with topics, so
// a peer with 2,000 topics under a 1024-descriptor limit (set by prlimit, as
// a service manager would) creates, serves and, killed, restarts on its own
// data directory under the same limit; and a peer at MAX_TOPICS refuses one
// more topic, created or subscribed, with LIMIT_EXCEEDED and no claim left
// behind at the indexer.
import { execFileSync } from 'child_process';
import { readdirSync, readlinkSync } from 'fs';
import { IndexerClient, PeerClient } from '@p2p-pubsub/client';
import { LaunchedProcess } from '@p2p-pubsub/launcher';
import { indexerClient as connectIndexer, peerClient } from './support/clients';
import { Cluster, startCluster } from './support/cluster';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { expectCode } from './support/expect-error';
import { ENTRY, ServiceProcess, indexerProcess } from './support/processes';
import { readLog } from './support/pull';

const TOPICS = 2000;
/** The peer's default MAX_OPEN_FILES. */
const MAX_OPEN_FILES = 256;

/** Fails, listing what is open (segments, journals, sockets), if `pid` has more than `bound` descriptors. */
function expectDescriptorsAtMost(pid: number, bound: number): void {
  const fds = readdirSync(`/proc/${pid}/fd`);
  if (fds.length <= bound) return;
  const kinds: Record<string, number> = {};
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
        .replace(/\/topics\/[^/]+\//, '/topics/*/')
        .replace(/\[\d+\]$/, '');
      kinds[target] = (kinds[target] ?? 0) + 1;
    } catch {
      // Closed while listed.
    }
  }
  throw new Error(`${fds.length} descriptors open, more than ${bound}: ${JSON.stringify(kinds)}`);
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += concurrency) {
    await Promise.all(items.slice(i, i + concurrency).map(work));
  }
}

describe('a peer with 2,000 topics under prlimit --nofile=1024', () => {
  const dataDirs = new DataDirs();
  let indexer: ServiceProcess;
  let host: LaunchedProcess;
  let client: PeerClient;
  let indexerClient: IndexerClient;
  /** Descriptors of the freshly started peer, before any topic. */
  let baseline: number;

  beforeAll(async () => {
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error('this suite starts the peer through prlimit (util-linux): install it');
    }
    indexer = await indexerProcess().start();
    // prlimit sets the limit and execs node: the pid is the peer's.
    host = new LaunchedProcess({
      name: 'host',
      command: 'prlimit',
      args: [
        '--nofile=1024',
        process.execPath,
        ENTRY.peer,
        '--port',
        '0',
        '--indexer-port',
        String(indexer.port),
        '--data-dir',
        dataDirs.make('host'),
      ],
      cwd: process.cwd(),
      startTimeoutMs: DEADLINE_MS,
      stopTimeoutMs: DEADLINE_MS,
    });
    await host.start();
    baseline = readdirSync(`/proc/${host.pid}/fd`).length;
    client = peerClient(host.port);
    indexerClient = connectIndexer(indexer.port);
  });

  afterAll(async () => {
    await Promise.all([client, indexerClient].map((c) => c?.close()));
    await host?.stop();
    await indexer?.stop();
    dataDirs.removeAll();
  });

  it('creates and serves them all with a bounded number of descriptors, and restarts after kill -9 under the same limit', async () => {
    const topics = Array.from({ length: TOPICS }, (_, i) => `t${String(i).padStart(4, '0')}`);
    await inBatches(topics, 32, (topic) => client.createTopic(topic));
    const busy = topics.filter((_, i) => i % 100 === 0);
    for (const topic of busy) {
      for (let i = 0; i < 10; i++) await client.publish(topic, `${topic}-${i}`);
      expect((await client.pull(topic, { consumer: 'c' })).messages).toHaveLength(10);
    }
    // Connections are the client's and the indexer link's: the rest is the file cap.
    expectDescriptorsAtMost(host.pid, baseline + MAX_OPEN_FILES + 4);

    // A pull's position is journaled once its reply has been handed over;
    // any later reply comes after that write, so the kill comes after it too.
    await client.pull(busy[0], { fromOffset: 0, max: 1 });
    const port = host.port;
    await host.stop('SIGKILL');
    const mark = host.output.length;
    await host.start(['--port', String(port)]);
    expect(host.output.slice(mark).join('\n')).toMatch(
      new RegExp(`${TOPICS} hosted and 0 replicated topic\\(s\\)`),
    );
    expectDescriptorsAtMost(host.pid, baseline + MAX_OPEN_FILES + 4);

    for (const topic of busy) {
      expect((await readLog(client, topic)).map((entry) => entry.message)).toEqual(
        Array.from({ length: 10 }, (_, i) => `${topic}-${i}`),
      );
      expect((await client.publish(topic, `${topic}-after`)).offset).toBe(10);
      expect((await client.pull(topic, { consumer: 'c' })).messages.map((m) => m.message)).toEqual([
        `${topic}-after`,
      ]);
    }
    // Every topic still works, and one more can be created.
    await inBatches(topics, 32, async (topic) => {
      if (!busy.includes(topic)) expect((await client.publish(topic, 'hello')).offset).toBe(0);
    });
    await client.createTopic('one-more');
    expect((await indexerClient.listTopics()).topics).toHaveLength(TOPICS + 1);
    expectDescriptorsAtMost(host.pid, baseline + MAX_OPEN_FILES + 4);
    expect(host.output.join('\n')).not.toMatch(/EMFILE|RpcErrorFilter/);
  });
});

describe('a peer at its MAX_TOPICS limit', () => {
  const dataDirs = new DataDirs();
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(2, { dataDirs, peerArgs: ['--max-topics', '3'] });
  });

  afterAll(async () => {
    await cluster?.stop();
    dataDirs.removeAll();
  });

  it('refuses one more topic, created or subscribed, with LIMIT_EXCEEDED, and takes one once another is gone', async () => {
    const [limited, other] = cluster.clients;
    for (const topic of ['a', 'b', 'c']) await limited.createTopic(topic);
    await expectCode(limited.createTopic('d'), 'LIMIT_EXCEEDED');
    await expectCode(cluster.indexerClient.lookup('d'), 'TOPIC_NOT_FOUND');
    await other.createTopic('elsewhere');
    await expectCode(limited.subscribe('elsewhere'), 'LIMIT_EXCEEDED');

    await limited.deleteTopic('c');
    await limited.subscribe('elsewhere');
    await other.publish('elsewhere', 'hello');
    expect((await limited.listTopics()).subscribed.map((entry) => entry.topic)).toEqual([
      'elsewhere',
    ]);
  });
});
