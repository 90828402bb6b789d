// Guards issue 12's list of attacks on a cluster with security on: forged
// deliveries into a replica (also one that would stall it at offset 1e12),
// erasing a replica, cutting a subscriber off, making a host push its log to
// an address of the attacker's choosing, releasing or claiming a topic at the
// indexer in another peer's name, deleting a topic one did not create,
// publishing or deleting through the patterns peers forward with. Each
// carries the topic's real epoch and incarnation, and each is made by a
// connection without a certificate (UNAUTHENTICATED), a client
// that is not a cluster member, and a peer of the cluster acting as another
// peer (FORBIDDEN), on both wires; the replica, the subscriber lists and the
// indexer's table must be exactly as before, and the cluster must still work.
import { PeerClient, RpcConnection } from '@p2p-pubsub/client';
import {
  ErrorCodes,
  IndexerPatterns,
  PeerInternalPatterns,
  PeerPatterns,
} from '@p2p-pubsub/protocol';
import { BareJsonClient } from './support/bare-json';
import { expectCode } from './support/expect-error';
import { readLog } from './support/pull';
import { RawConnection, nestFrame } from './support/raw-socket';
import {
  CertFiles,
  SecureCluster,
  SecurePeer,
  TestPki,
  startSecureCluster,
} from './support/secure-cluster';
import { waitFor } from './support/wait';

const TOPIC = 'orders.eu';
const everythingOnOrders = {
  allow: {
    publish: ['orders.*'],
    subscribe: ['orders.*'],
    create: ['orders.*'],
    delete: ['orders.*'],
  },
};

describe('attacks on a cluster with security on', () => {
  let pki: TestPki;
  let cluster: SecureCluster;
  let host: SecurePeer;
  let subscriber: SecurePeer;
  let intruder: SecurePeer;
  let alice: CertFiles;
  let onHost: PeerClient;
  let onSubscriber: PeerClient;

  beforeAll(async () => {
    pki = new TestPki();
    alice = pki.client('alice');
    cluster = await startSecureCluster(3, {
      pki,
      permissions: { 'client/alice': everythingOnOrders, 'client/bob': everythingOnOrders },
    });
    [host, subscriber, intruder] = cluster.peers;
    onHost = cluster.peerClient(0, alice);
    onSubscriber = cluster.peerClient(1, alice);
    await onHost.createTopic(TOPIC);
    await onSubscriber.subscribe(TOPIC, 'earliest');
    for (const message of ['one', 'two', 'three']) await onHost.publish(TOPIC, message);
    await waitFor(async () => (await readLog(onSubscriber, TOPIC)).length === 3, {
      what: 'the replica to hold 3 messages',
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    pki?.remove();
  });

  /** What the attacks must leave alone. */
  async function state() {
    const indexer = cluster.indexerClient(alice);
    const [topics, peers, hostTopics, subscriberTopics, replica, hostLog] = await Promise.all([
      indexer.listTopics(),
      indexer.listPeers(),
      onHost.listTopics(),
      onSubscriber.listTopics(),
      readLog(onSubscriber, TOPIC),
      readLog(onHost, TOPIC),
    ]);
    return {
      indexerTopics: topics.topics,
      indexerPeers: peers.peers.map(({ lastSeenAt: _lastSeenAt, ...peer }) => peer),
      hosted: hostTopics.hosted,
      subscribed: subscriberTopics.subscribed,
      replica,
      hostLog,
    };
  }

  /**
   * Every attack: where it goes, and what it sends. Each names the topic's
   * real epoch and incarnation (anyone may look them up), so that what
   * refuses it is who sends it, not a stale claim.
   */
  async function attacks() {
    const replica = (await onSubscriber.listTopics()).subscribed.find(
      (entry) => entry.topic === TOPIC,
    )!;
    const claim = { epoch: replica.epoch };
    const forged = (offset: number) => ({
      topic: TOPIC,
      ...claim,
      incarnation: replica.incarnation,
      records: [{ offset, message: 'forged', publishedAt: Date.now() }],
    });
    return [
      {
        name: 'inject into the replica',
        port: subscriber.port,
        pattern: PeerInternalPatterns.Deliver,
        data: forged(3),
      },
      {
        name: 'stall the replica at offset 1e12',
        port: subscriber.port,
        pattern: PeerInternalPatterns.Deliver,
        data: forged(1e12),
      },
      {
        name: 'erase the replica',
        port: subscriber.port,
        pattern: PeerInternalPatterns.TopicDeleted,
        data: { topic: TOPIC, ...claim },
      },
      {
        name: 'cut off the subscriber',
        port: host.port,
        pattern: PeerInternalPatterns.RemoveSubscriber,
        data: { topic: TOPIC, peerId: subscriber.peerId },
      },
      {
        name: 'make the host push its log elsewhere',
        port: host.port,
        pattern: PeerInternalPatterns.AddSubscriber,
        data: { topic: TOPIC, host: '127.0.0.1', port: 9, from: 'earliest', ...claim },
      },
      {
        name: "release the host's topic at the indexer",
        port: cluster.indexer.port,
        pattern: IndexerPatterns.DeleteTopic,
        data: { topic: TOPIC, peerId: host.peerId },
      },
      {
        name: 'unregister the host',
        port: cluster.indexer.port,
        pattern: IndexerPatterns.Unregister,
        data: { peerId: host.peerId },
      },
      {
        name: 'claim a topic as the host',
        port: cluster.indexer.port,
        pattern: IndexerPatterns.CreateTopic,
        data: { topic: 'orders.new', peerId: host.peerId },
      },
      {
        name: 'register as the host',
        port: cluster.indexer.port,
        pattern: IndexerPatterns.Register,
        data: { host: '127.0.0.1', port: host.port, topics: ['orders.us'] },
      },
      {
        name: 'heartbeat as the host',
        port: cluster.indexer.port,
        pattern: IndexerPatterns.Heartbeat,
        data: { peerId: host.peerId },
      },
      {
        name: 'delete the topic on its host',
        port: host.port,
        pattern: PeerPatterns.DeleteTopic,
        data: { topic: TOPIC },
      },
      {
        name: 'delete the topic through another peer',
        port: subscriber.port,
        pattern: PeerPatterns.DeleteTopic,
        data: { topic: TOPIC },
      },
      {
        name: 'publish as a forwarding peer',
        port: host.port,
        pattern: PeerInternalPatterns.Publish,
        data: { topic: TOPIC, message: 'forged', ...claim },
      },
      {
        name: 'delete as a forwarding peer',
        port: host.port,
        pattern: PeerInternalPatterns.DeleteTopic,
        data: { topic: TOPIC, ...claim },
      },
    ];
  }

  async function each(connect: (port: number) => RpcConnection, code: string): Promise<void> {
    for (const attack of await attacks()) {
      const connection = connect(attack.port);
      const error = await expectCode(connection.request(attack.pattern, attack.data), code).catch(
        (failure: Error) => {
          throw new Error(`${attack.name}: ${failure.message}`);
        },
      );
      expect(error.message).not.toMatch(/Internal/);
    }
  }

  it('refuses every attack from a connection without a certificate: UNAUTHENTICATED', async () => {
    const before = await state();
    await each((port) => cluster.connection(port), ErrorCodes.Unauthenticated);
    expect(await state()).toEqual(before);
  });

  it('refuses every attack from a client that is not a member: FORBIDDEN', async () => {
    const before = await state();
    const mallory = pki.client('mallory');
    const bob = pki.client('bob');
    await each((port) => cluster.connection(port, mallory), ErrorCodes.Forbidden);
    // bob may delete orders.* topics, but not one alice created.
    await each((port) => cluster.connection(port, bob), ErrorCodes.Forbidden);
    expect(await state()).toEqual(before);
  });

  it('refuses every attack from a peer of the cluster acting as another: FORBIDDEN', async () => {
    const before = await state();
    await each((port) => cluster.connection(port, intruder.files), ErrorCodes.Forbidden);
    expect(await state()).toEqual(before);
  });

  it('refuses the same over the bare JSON wire with TLS', async () => {
    const before = await state();
    const asIntruder = await BareJsonClient.connectTls(
      cluster.indexer.port,
      pki.tls(intruder.files),
    );
    for (const command of [
      { command: 'delete_topic', host: '127.0.0.1', port: host.port, topic: TOPIC },
      { command: 'unregister_peer', host: '127.0.0.1', port: host.port },
      { command: 'add_topic', host: '127.0.0.1', port: host.port, topic: 'orders.new' },
    ]) {
      expect(await asIntruder.request(command)).toMatchObject({
        status: 'error',
        code: 'FORBIDDEN',
      });
    }
    await asIntruder.close();
    const anonymous = await BareJsonClient.connectTls(subscriber.port, pki.tls());
    expect(await anonymous.request({ command: 'delete_topic', topic: TOPIC })).toMatchObject({
      status: 'error',
      code: 'UNAUTHENTICATED',
    });
    await anonymous.close();
    expect(await state()).toEqual(before);
  });

  it('refuses plaintext connections with a log line, before anything is read', async () => {
    const before = await state();
    const mark = subscriber.process.output.length;
    const raw = new RawConnection(subscriber.port);
    await raw.write(
      nestFrame({ pattern: PeerInternalPatterns.TopicDeleted, data: { topic: TOPIC }, id: 1 }),
    );
    await waitFor(() => raw.isClosed, { what: 'the plaintext connection to be closed' });
    await subscriber.process.waitForLog(/refused a connection from .*: it spoke plaintext/, mark);
    expect(raw.text).toBe('');
    expect(await state()).toEqual(before);
  });

  it('still delivers what the real host publishes after all of it', async () => {
    // The attacks again, here: in a random order this test may run before
    // the others, and must still come after every attack.
    await each((port) => cluster.connection(port), ErrorCodes.Unauthenticated);
    for (const client of [pki.client('mallory'), pki.client('bob'), intruder.files]) {
      await each((port) => cluster.connection(port, client), ErrorCodes.Forbidden);
    }
    await onSubscriber.publish(TOPIC, 'four');
    await waitFor(async () => (await readLog(onSubscriber, TOPIC)).length === 4, {
      what: 'the replica to receive the fourth message',
    });
    expect((await readLog(onSubscriber, TOPIC)).map((record) => record.message)).toEqual([
      'one',
      'two',
      'three',
      'four',
    ]);
  });
});
