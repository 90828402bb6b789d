// Guards the cluster healing itself: an indexer restarted empty is rebuilt
// by the peers within a few heartbeats (and gives out no new name until a
// lease has passed, since a host may not have registered again yet), a peer
// that dies is evicted after its
// lease, and a publish to a topic whose host is down fails fast with
// PEER_UNAVAILABLE instead of hanging.
import { IndexerClient, PeerClient } from '@p2p-pubsub/client';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { expectCode } from './support/expect-error';
import { Cluster, startCluster } from './support/cluster';
import { ServiceProcess } from './support/processes';
import { pullUntil } from './support/pull';
import { waitFor } from './support/wait';

/** Short heartbeats so that "a few heartbeats" is a fraction of a second. */
const FAST_HEARTBEATS = ['--heartbeat-interval-ms', '100'];

/** Every peer gets a data directory of the suite's, so one killed with -9 leaves nothing behind. */
const dataDirs = new DataDirs();
afterAll(() => dataDirs.removeAll());

describe('an indexer killed and replaced by a fresh one on the same port', () => {
  let cluster: Cluster;
  let indexer: ServiceProcess;
  let peers: ServiceProcess[];
  let clients: PeerClient[];
  let indexerClient: IndexerClient;

  beforeAll(async () => {
    // A lease longer than the test: the restarted indexer's wait before it
    // gives out new names lasts the whole test.
    cluster = await startCluster(3, {
      indexerArgs: ['--peer-lease-ms', String(4 * DEADLINE_MS)],
      peerArgs: FAST_HEARTBEATS,
      dataDirs,
    });
    ({ indexer, peers, clients, indexerClient } = cluster);
  });

  afterAll(() => cluster?.stop());

  it('is rebuilt by the peers: lookup finds every topic again, and subscribe and publish work from other peers', async () => {
    const [first, second, third] = clients;
    await first.createTopic('Alpha');
    await second.createTopic('Beta');
    await third.subscribe('Alpha');

    await indexer.restart('SIGKILL');

    for (const [topic, host] of [
      ['Alpha', peers[0]],
      ['Beta', peers[1]],
    ] as const) {
      const found = await waitFor(() => indexerClient.lookup(topic), {
        what: `lookup of '${topic}'`,
      });
      expect(found.port).toBe(host.port);
    }
    // The peer that hosts nothing registers again too.
    const everyPort = peers.map((peer) => peer.port).sort();
    await waitFor(
      async () =>
        JSON.stringify((await indexerClient.listPeers()).peers.map((peer) => peer.port).sort()) ===
        JSON.stringify(everyPort),
      { what: 'every peer registered again' },
    );

    await third.subscribe('Beta');
    await first.subscribe('Beta');
    expect((await third.publish('Alpha', 'to alpha via a subscriber')).offset).toBe(0);
    expect((await first.publish('Beta', 'to beta via another peer')).offset).toBe(0);
    expect((await pullUntil(third, 'Alpha', 1)).map((m) => m.message)).toEqual([
      'to alpha via a subscriber',
    ]);
    for (const client of [third, first]) {
      expect((await pullUntil(client, 'Beta', 1)).map((m) => m.message)).toEqual([
        'to beta via another peer',
      ]);
    }
    // Names are still held by their hosts: nobody else can take them.
    await expectCode(third.createTopic('Alpha'), 'TOPIC_EXISTS');
    // A new name waits for the lease: certainly not claimed, try again later.
    const refused = await expectCode(third.createTopic('Gamma'), 'PEER_UNAVAILABLE');
    expect(refused.details).toEqual({ unsent: true });
    await expectCode(indexerClient.lookup('Gamma'), 'TOPIC_NOT_FOUND');
  });
});

describe('a peer killed with -9 and never restarted', () => {
  let cluster: Cluster;
  let indexer: ServiceProcess;
  let peers: ServiceProcess[];
  let clients: PeerClient[];
  let indexerClient: IndexerClient;

  beforeAll(async () => {
    cluster = await startCluster(3, {
      // Short enough to see an eviction soon, long enough that a live peer's
      // heartbeats (every 100 ms) are not all held up past it on a busy machine.
      indexerArgs: ['--peer-lease-ms', String(Math.max(3_000, DEADLINE_MS / 10))],
      peerArgs: FAST_HEARTBEATS,
      dataDirs,
    });
    ({ indexer, peers, clients, indexerClient } = cluster);
  });

  afterAll(() => cluster?.stop());

  it('is evicted with its topics after the lease, while the peers that heartbeat stay', async () => {
    const [doomed, survivor, subscriber] = peers;
    await clients[0].createTopic('Orphan');
    await clients[2].subscribe('Orphan');
    for (let i = 0; i < 3; i++) await clients[0].publish('Orphan', `old ${i}`);
    await pullUntil(clients[2], 'Orphan', 3);
    const mark = indexer.output.length;
    await doomed.stop('SIGKILL');

    await indexer.waitForLog(
      new RegExp(`peer 127\\.0\\.0\\.1:${doomed.port} evicted: .*topics released: Orphan`),
      mark,
    );
    await expectCode(indexerClient.lookup('Orphan'), 'TOPIC_NOT_FOUND');
    const listed = await indexerClient.listPeers();
    expect(listed.peers.map((peer) => peer.port).sort()).toEqual(
      [survivor.port, subscriber.port].sort(),
    );

    // The name is free again; the old subscriber subscribing to the new host
    // starts a new replica, since the new log's offsets start again at 0.
    await expect(clients[1].createTopic('Orphan')).resolves.toMatchObject({ status: 'success' });
    expect((await clients[2].subscribe('Orphan')).hostPeer).toBe(`127.0.0.1:${survivor.port}`);
    await clients[1].publish('Orphan', 'new 0');
    expect((await pullUntil(clients[2], 'Orphan', 1)).map((m) => [m.offset, m.message])).toEqual([
      [0, 'new 0'],
    ]);
  });
});

describe('publishing to a topic whose host is down', () => {
  let cluster: Cluster;
  let peers: ServiceProcess[];
  let clients: PeerClient[];

  beforeAll(async () => {
    // A lease longer than the test keeps the dead host in the index, however
    // slow the machine: the publisher finds it and must give up on its own,
    // after its request timeout. That timeout leaves a live host time to
    // answer on a busy machine, and the give-up shows well within the deadline.
    cluster = await startCluster(2, {
      indexerArgs: ['--peer-lease-ms', String(10 * DEADLINE_MS)],
      peerArgs: ['--request-timeout-ms', String(DEADLINE_MS / 12)],
      dataDirs,
    });
    ({ peers, clients } = cluster);
  });

  afterAll(() => cluster?.stop());

  it('fails with PEER_UNAVAILABLE after the bounded retry, not a hang', async () => {
    await clients[0].createTopic('Stranded');
    expect((await clients[1].publish('Stranded', 'while it lives')).offset).toBe(0);
    await peers[0].stop('SIGKILL');
    const error = await expectCode(
      clients[1].publish('Stranded', 'after it died'),
      'PEER_UNAVAILABLE',
    );
    expect(error.message).toContain(`127.0.0.1:${peers[0].port}`);
  });
});
