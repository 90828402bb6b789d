// Guards what a full disk does to a peer, on a small tmpfs this suite
// mounts (it needs root, as CI has): the peer never exits and never answers
// INTERNAL; every write that does not fit answers STORAGE_FULL and moves
// nothing (publish, a consumer's pull once its last move could not be
// journaled, or its ack on a live stream; create_topic, subscribe, delivery
// to a subscriber peer, the host's cursor checkpoint); reads go on; and once
// space is freed, writes resume without a restart and every acknowledged
// message reaches a consumer exactly once, in order.
import { readFileSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { IndexerClient, PeerClient, PubSubError, RpcConnection } from '@p2p-pubsub/client';
import { PeerStreamPatterns } from '@p2p-pubsub/protocol';
import { DEADLINE_MS } from './support/deadline';
import { indexerClient as connectIndexer, peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { expectCode } from './support/expect-error';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { pullUntil, readLog } from './support/pull';
import { Tmpfs, roomInLastPage, topicDirectory } from './support/tmpfs';
import { waitFor } from './support/wait';

const MiB = 1024 * 1024;
/** 64 KiB messages fill a few MiB in a few dozen publishes. */
const large = (label: string) => `${label}-`.padEnd(64 * 1024, 'x');

/** Publishes until the host refuses; returns what was acknowledged and the refusal. */
async function publishUntilRefused(
  client: PeerClient,
  topic: string,
  message: (i: number) => string,
): Promise<{ acknowledged: string[]; refusal: PubSubError }> {
  const acknowledged: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    try {
      await client.publish(topic, message(i));
      acknowledged.push(message(i));
    } catch (error) {
      return { acknowledged, refusal: error as PubSubError };
    }
  }
  throw new Error(`'${topic}' never filled the disk`);
}

/** The error lines the exception filter logs for an unexpected (INTERNAL) error. */
const internalErrors = (peer: ServiceProcess) =>
  peer.output.filter((line) => /RpcErrorFilter|Internal error/.test(line));

const lastLineBytes = (path: string) => {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return Buffer.byteLength(lines[lines.length - 1]) + 1;
};

describe.each(['interval', 'always'])('a host whose disk fills up (FSYNC=%s)', (fsync) => {
  const dataDirs = new DataDirs();
  let tmpfs: Tmpfs | undefined;
  let hostDir: string;
  let indexer: ServiceProcess;
  let host: ServiceProcess;
  let other: ServiceProcess;
  let hostClient: PeerClient;
  let otherClient: PeerClient;
  let indexerClient: IndexerClient;

  beforeAll(async () => {
    tmpfs = Tmpfs.mount(16 * MiB);
    hostDir = tmpfs.dir('host');
    indexer = await indexerProcess().start();
    // Small segments: filling the disk also rolls segments on it.
    host = await peerProcess('host', indexer.port, [
      '--data-dir',
      hostDir,
      '--fsync',
      fsync,
      '--segment-bytes',
      String(MiB),
    ]).start();
    other = await peerProcess('other', indexer.port, [
      '--data-dir',
      dataDirs.make('other'),
    ]).start();
    hostClient = peerClient(host.port);
    otherClient = peerClient(other.port);
    indexerClient = connectIndexer(indexer.port);
  });

  afterAll(async () => {
    try {
      await Promise.all([hostClient, otherClient, indexerClient].map((client) => client?.close()));
      await Promise.all([host, other].map((peer) => peer?.stop()));
      await indexer?.stop();
    } finally {
      tmpfs?.unmount();
      dataDirs.removeAll();
    }
  });

  it('answers STORAGE_FULL, stays up serving replay pulls, and after space is freed a consumer gets every acknowledged message exactly once, in order', async () => {
    await hostClient.createTopic('Orders');
    const acknowledged: string[] = [];
    for (let i = 0; i < 400; i++) {
      await hostClient.publish('Orders', `small-${i}`);
      acknowledged.push(`small-${i}`);
    }

    // The consumer reads one message at a time until the last page of its
    // position journal has no room for another line: on the full disk, its
    // next move then needs space that is not there.
    const received: string[] = [];
    const positions = join(topicDirectory(hostDir, 'Orders'), 'consumers.journal');
    do {
      const reply = await hostClient.pull('Orders', { consumer: 'reader', max: 1 });
      received.push(...reply.messages.map((entry) => entry.message));
      // A pull's position is journaled once its reply has been handed over;
      // any later reply comes after that write.
      await hostClient.listTopics();
    } while (roomInLastPage(positions) >= lastLineBytes(positions));
    expect(received.length).toBeLessThan(400);

    // Publishes take what a filler left, and a second filler takes the pages
    // a large record could not use: the disk is full to the last page.
    tmpfs!.fill(2 * MiB);
    const large_ = await publishUntilRefused(hostClient, 'Orders', (i) => large(`large-${i}`));
    acknowledged.push(...large_.acknowledged);
    expect(large_.refusal.code).toBe('STORAGE_FULL');
    tmpfs!.fill();
    const small = await publishUntilRefused(hostClient, 'Orders', (i) => `last-${i}`);
    acknowledged.push(...small.acknowledged);
    expect(small.refusal.code).toBe('STORAGE_FULL');

    // Every other write refuses cleanly, and moves nothing. The consumer's
    // next pull is answered (a position moves once its reply is handed
    // over), but that move cannot be journaled: the pulls after it answer
    // STORAGE_FULL until it is, and it counts once it is.
    const handedOver = await hostClient.pull('Orders', { consumer: 'reader', max: 10 });
    expect(handedOver.messages).toHaveLength(10);
    received.push(...handedOver.messages.map((entry) => entry.message));
    await expectCode(hostClient.pull('Orders', { consumer: 'reader', max: 10 }), 'STORAGE_FULL');
    await expectCode(hostClient.pull('Orders', { consumer: 'reader', max: 10 }), 'STORAGE_FULL');
    // A live stream's ack moves the consumer as `ack` does: durably first.
    const acking = new RpcConnection({
      host: '127.0.0.1',
      port: host.port,
      requestTimeoutMs: DEADLINE_MS,
    });
    try {
      const ack = { topic: 'Orders', consumer: 'reader', stream: 'gone', nextOffset: 400 };
      await expectCode(acking.request(PeerStreamPatterns.ConsumeAck, ack), 'STORAGE_FULL');
    } finally {
      await acking.close();
    }
    await expectCode(hostClient.createTopic('Extra'), 'STORAGE_FULL');
    await expectCode(indexerClient.lookup('Extra'), 'TOPIC_NOT_FOUND');
    expect(readdirSync(join(hostDir, 'topics'))).toHaveLength(1);
    await expectCode(otherClient.subscribe('Orders'), 'STORAGE_FULL');

    // Reads go on: a replay pull returns every acknowledged message at its offset.
    const log = await readLog(hostClient, 'Orders');
    expect(log.map((entry) => entry.message)).toEqual(acknowledged);
    expect(log.map((entry) => entry.offset)).toEqual(log.map((_, i) => i));
    expect(host.running).toBe(true);

    // Space comes back: writes resume, no restart.
    tmpfs!.freeFillers();
    for (let i = 0; i < 20; i++) {
      await hostClient.publish('Orders', `after-${i}`);
      acknowledged.push(`after-${i}`);
    }
    await otherClient.subscribe('Orders', 'earliest');
    const rest = await pullUntil(hostClient, 'Orders', acknowledged.length - received.length, {
      consumer: 'reader',
    });
    received.push(...rest.map((entry) => entry.message));
    expect(received).toEqual(acknowledged);
    const replicated = await pullUntil(otherClient, 'Orders', acknowledged.length);
    expect(replicated.map((entry) => entry.message)).toEqual(acknowledged);
    expect(host.running).toBe(true);
    expect(internalErrors(host)).toEqual([]);
  });
});

describe('a subscriber peer whose disk fills up', () => {
  const dataDirs = new DataDirs();
  let tmpfs: Tmpfs | undefined;
  let indexer: ServiceProcess;
  let host: ServiceProcess;
  let subscriber: ServiceProcess;
  let hostClient: PeerClient;
  let subscriberClient: PeerClient;

  beforeAll(async () => {
    tmpfs = Tmpfs.mount(16 * MiB);
    indexer = await indexerProcess().start();
    host = await peerProcess('host', indexer.port, ['--data-dir', dataDirs.make('host')]).start();
    subscriber = await peerProcess('subscriber', indexer.port, [
      '--data-dir',
      tmpfs.dir('subscriber'),
    ]).start();
    hostClient = peerClient(host.port);
    subscriberClient = peerClient(subscriber.port);
  });

  afterAll(async () => {
    try {
      await Promise.all([hostClient, subscriberClient].map((client) => client?.close()));
      await Promise.all([host, subscriber].map((peer) => peer?.stop()));
      await indexer?.stop();
    } finally {
      tmpfs?.unmount();
      dataDirs.removeAll();
    }
  });

  it('stays up while its host retries delivery, and once space is freed catches up with every message once, in order', async () => {
    await hostClient.createTopic('Feed');
    await subscriberClient.subscribe('Feed', 'earliest');
    tmpfs!.fill(MiB);
    const acknowledged: string[] = [];
    const mark = host.output.length;
    for (let i = 0; i < 40; i++) {
      await hostClient.publish('Feed', large(`feed-${i}`));
      acknowledged.push(large(`feed-${i}`));
    }
    await host.waitForLog(/delivery of 'Feed' to \S+ failed \(Storage full/, mark);
    tmpfs!.fill();

    // What the replica holds is served; it is a prefix of what was published.
    const held = await readLog(subscriberClient, 'Feed');
    expect(held.length).toBeLessThan(acknowledged.length);
    expect(held.map((entry) => entry.message)).toEqual(acknowledged.slice(0, held.length));
    // A new subscription needs space for its replica: refused, and nothing is left of it.
    await hostClient.createTopic('Other');
    await expectCode(subscriberClient.subscribe('Other'), 'STORAGE_FULL');
    expect((await subscriberClient.listTopics()).subscribed.map((entry) => entry.topic)).toEqual([
      'Feed',
    ]);
    expect(subscriber.running).toBe(true);

    tmpfs!.freeFillers();
    const received = await pullUntil(subscriberClient, 'Feed', acknowledged.length, {
      consumer: 'reader',
    });
    expect(received.map((entry) => entry.message)).toEqual(acknowledged);
    await subscriberClient.subscribe('Other');
    expect(internalErrors(subscriber)).toEqual([]);
  });
});

describe("a host whose disk fills up while it checkpoints its subscribers' cursors", () => {
  const dataDirs = new DataDirs();
  let tmpfs: Tmpfs | undefined;
  let hostDir: string;
  let indexer: ServiceProcess;
  let host: ServiceProcess;
  let subscriber: ServiceProcess;
  let hostClient: PeerClient;
  let subscriberClient: PeerClient;

  beforeAll(async () => {
    tmpfs = Tmpfs.mount(16 * MiB);
    hostDir = tmpfs.dir('host');
    indexer = await indexerProcess().start();
    // A short request timeout: the host gives up on the frozen subscriber sooner.
    host = await peerProcess('host', indexer.port, [
      '--data-dir',
      hostDir,
      '--request-timeout-ms',
      '1000',
    ]).start();
    subscriber = await peerProcess('subscriber', indexer.port, [
      '--data-dir',
      dataDirs.make('subscriber'),
    ]).start();
    hostClient = peerClient(host.port);
    subscriberClient = peerClient(subscriber.port);
  });

  afterAll(async () => {
    try {
      subscriber?.signal('SIGCONT');
      await Promise.all([hostClient, subscriberClient].map((client) => client?.close()));
      await Promise.all([host, subscriber].map((peer) => peer?.stop()));
      await indexer?.stop();
    } finally {
      tmpfs?.unmount();
      dataDirs.removeAll();
    }
  });

  it('logs the failed checkpoint and keeps running and delivering; once space is back the cursor is saved, and a restart resumes from it', async () => {
    await hostClient.createTopic('Ticks');
    await subscriberClient.subscribe('Ticks');
    const cursors = join(topicDirectory(hostDir, 'Ticks'), 'subscribers.journal');

    // Each publish moves the subscriber's cursor, and its checkpoint adds a
    // line, until the journal's last page has no room for the next one.
    let published = 0;
    while (roomInLastPage(cursors) >= lastLineBytes(cursors)) {
      const size = statSync(cursors).size;
      await hostClient.publish('Ticks', `tick-${published++}`);
      await waitFor(() => statSync(cursors).size > size, { what: 'a cursor checkpoint' });
    }

    // Messages the frozen subscriber has not acknowledged, then a full disk.
    subscriber.signal('SIGSTOP');
    for (let i = 0; i < 5; i++) await hostClient.publish('Ticks', `tick-${published++}`);
    tmpfs!.fill();
    const mark = host.output.length;
    subscriber.signal('SIGCONT');
    await host.waitForLog(/checkpoint of 'Ticks' failed \(Storage full/, mark);
    const received = await pullUntil(subscriberClient, 'Ticks', published);
    expect(received.map((entry) => entry.message)).toEqual(
      Array.from({ length: published }, (_, i) => `tick-${i}`),
    );
    expect(host.running).toBe(true);

    tmpfs!.freeFillers();
    await host.waitForLog(/cursors of 'Ticks' checkpointed again/, mark);
    const restart = host.output.length;
    await host.restart('SIGKILL');
    await host.waitForLog(
      new RegExp(`resuming 'Ticks' for 127\\.0\\.0\\.1:${subscriber.port} at ${published}\\b`),
      restart,
    );
    // The line cut short by the full disk left nothing torn or corrupt behind.
    expect(host.output.slice(restart).join('\n')).not.toMatch(/torn|corrupt/);
    expect(internalErrors(host)).toEqual([]);
  });
});
