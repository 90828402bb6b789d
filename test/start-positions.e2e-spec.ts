// Guards where reading starts: subscribe from latest, earliest or an offset;
// pull replaying from an offset without moving the consumer; long polls; and
// a consumer or subscriber left behind by retention getting the oldest
// retained message with a count of what it skipped.
import { PeerClient, PulledMessage } from '@p2p-pubsub/client';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { pullUntil } from './support/pull';
import { waitFor } from './support/wait';

/** The longest wait a pull may ask for (the protocol's limit). */
const LONGEST_WAIT_MS = 60_000;

describe('start positions, replay, long polls and retention', () => {
  const dataDirs = new DataDirs();
  let indexer: ServiceProcess;
  let peers: ServiceProcess[];
  let host: PeerClient, sub1: PeerClient, sub2: PeerClient, sub3: PeerClient, smallHost: PeerClient;
  let smallHostPeer: ServiceProcess;

  beforeAll(async () => {
    indexer = await indexerProcess().start();
    peers = ['host', 'sub1', 'sub2', 'sub3'].map((name) =>
      peerProcess(name, indexer.port, ['--data-dir', dataDirs.make(name)]),
    );
    // Segments of 4 KiB and 100 messages kept: retention passes quickly.
    smallHostPeer = peerProcess('small', indexer.port, [
      '--data-dir',
      dataDirs.make('small'),
      '--segment-bytes',
      '4096',
      '--retention-messages',
      '100',
    ]);
    peers.push(smallHostPeer);
    await Promise.all(peers.map((peer) => peer.start()));
    [host, sub1, sub2, sub3, smallHost] = peers.map(
      // Long enough for the longest poll, and then the deadline.
      (peer) =>
        new PeerClient({
          host: '127.0.0.1',
          port: peer.port,
          requestTimeoutMs: LONGEST_WAIT_MS + DEADLINE_MS,
        }),
    );
  });

  afterAll(async () => {
    await Promise.all([host, sub1, sub2, sub3, smallHost].map((client) => client?.close()));
    await Promise.all((peers ?? []).map((peer) => peer.stop()));
    await indexer?.stop();
    dataDirs.removeAll();
  });

  it('subscribes from the earliest message, from an offset, or from the next one (the default)', async () => {
    await host.createTopic('History');
    for (let i = 0; i < 10; i++) await host.publish('History', `old ${i}`);

    expect((await sub1.subscribe('History', 'earliest')).startOffset).toBe(0);
    expect((await sub2.subscribe('History', 7)).startOffset).toBe(7);
    expect((await sub3.subscribe('History')).startOffset).toBe(10);
    await host.publish('History', 'new');

    const old = Array.from({ length: 10 }, (_, i) => `old ${i}`);
    expect((await pullUntil(sub1, 'History', 11)).map((m) => m.message)).toEqual([...old, 'new']);
    expect((await pullUntil(sub2, 'History', 4)).map((m) => m.message)).toEqual([
      'old 7',
      'old 8',
      'old 9',
      'new',
    ]);
    expect((await pullUntil(sub3, 'History', 1)).map((m) => m.message)).toEqual(['new']);
  });

  it('replays from an offset without moving the consumer', async () => {
    await host.createTopic('Replay');
    await sub1.subscribe('Replay');
    for (let i = 0; i < 5; i++) await host.publish('Replay', `r${i}`);
    expect((await pullUntil(sub1, 'Replay', 5)).map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);

    const replayed = await sub1.pull('Replay', { fromOffset: 1, max: 2 });
    expect(replayed.messages.map((m) => m.message)).toEqual(['r1', 'r2']);
    expect(replayed.nextOffset).toBe(3);
    expect((await sub1.pull('Replay')).messages).toEqual([]);
    await host.publish('Replay', 'r5');
    expect((await pullUntil(sub1, 'Replay', 1)).map((m) => m.message)).toEqual(['r5']);
  });

  it('answers a long poll with a message published while it waits, and with nothing once the wait is over', async () => {
    await host.createTopic('Waiting');
    await sub1.subscribe('Waiting');

    // The longest wait there is: had the publish not woken the poll, it
    // would have run its whole course, and the reply would say so.
    const parkedAt = Date.now();
    const parked = sub1.pull('Waiting', { waitMs: LONGEST_WAIT_MS });
    await host.publish('Waiting', 'wake up');
    const woken = await parked;
    expect(woken.messages.map((m) => m.message)).toEqual(['wake up']);
    expect(Date.now() - parkedAt).toBeLessThan(LONGEST_WAIT_MS);

    const empty = await sub1.pull('Waiting', { waitMs: 200 });
    expect(empty.messages).toEqual([]);
    expect(empty.nextOffset).toBe(1);
  });

  it('gives a consumer behind retention the oldest retained message and the number it skipped', async () => {
    await smallHost.createTopic('Firehose');
    await smallHost.publish('Firehose', 'first');
    expect((await smallHost.pull('Firehose')).messages.map((m) => m.offset)).toEqual([0]);
    for (let i = 1; i <= 1000; i++) await smallHost.publish('Firehose', `message ${i}`);

    const behind = await smallHost.pull('Firehose', { max: 1 });
    expect(behind.skipped).toBeGreaterThan(0);
    const [oldest] = behind.messages;
    expect(oldest.offset).toBe(1 + behind.skipped);
    expect(oldest.message).toBe(`message ${oldest.offset}`);
    // Retention keeps at least 100 messages.
    expect(oldest.offset).toBeLessThanOrEqual(1001 - 100);
    expect((await smallHost.pull('Firehose', { max: 1 })).skipped).toBe(0);
  });

  it('tells a subscriber peer that was down while retention passed it, and its consumer, what they skipped', async () => {
    await smallHost.createTopic('Outage');
    await sub2.subscribe('Outage');
    await smallHost.publish('Outage', 'seen');
    expect((await pullUntil(sub2, 'Outage', 1)).map((m) => m.offset)).toEqual([0]);

    const [, , sub2Peer] = peers;
    const port = sub2Peer.port;
    const mark = smallHostPeer.output.length;
    await sub2Peer.stop();
    for (let i = 1; i <= 1000; i++) await smallHost.publish('Outage', `missed or kept ${i}`);
    await sub2Peer.start(['--port', String(port)]);

    await smallHostPeer.waitForLog(
      new RegExp(
        `peer 127\\.0\\.0\\.1:${port} skips offsets 1-\\d+ of 'Outage': retention removed them`,
      ),
      mark,
    );
    // The consumer pulls until the last message, adding up what it is told it skipped.
    let skipped = 0;
    const received: PulledMessage[] = [];
    await waitFor(
      async () => {
        const reply = await sub2.pull('Outage', { max: 1000 });
        skipped += reply.skipped;
        received.push(...reply.messages);
        return received.at(-1)?.offset === 1000;
      },
      { what: 'the last message of Outage on sub2' },
    );
    const firstKept = received[0].offset;
    expect(skipped).toBe(firstKept - 1);
    expect(firstKept).toBeLessThanOrEqual(1001 - 100);
    expect(received.map((m) => m.offset)).toEqual(
      Array.from({ length: 1001 - firstKept }, (_, i) => firstKept + i),
    );
    expect(received[0].message).toBe(`missed or kept ${firstKept}`);
  });
});
