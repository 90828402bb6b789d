// Guards subscriptions across incarnations: a replica is opened (with the
// host's epoch and incarnation) before the host is asked, takes only batches
// of its own incarnation, and is checked against the indexer periodically:
// the same incarnation is confirmed with its host from where the replica
// ends; a new one gets a new replica read from its start, never mixed with
// the old, whose consumers are each told once (with what they had not
// read); no host, or an older claim, leaves the replica as it is.
import { jest } from '@jest/globals';
import { TestingModule } from '@nestjs/testing';
import { PeerInternalPatterns, PubSubError } from '@p2p-pubsub/protocol';
import { ConsumersService } from '../consumers/consumers.service';
import { IndexerLink } from '../links/indexer-link';
import { LogStore } from '../log/log-store';
import { FakeIndexerClient, FakePeers, eventually, startTestPeer } from '../testing/peer-harness';
import { SubscriptionsService } from './subscriptions.service';

const HOST = '127.0.0.1:7002';
const CHECK_MS = 1_000;

describe('SubscriptionsService', () => {
  let indexer: FakeIndexerClient;
  let peers: FakePeers;
  let peer: TestingModule;
  let subscriptions: SubscriptionsService;
  let consumers: ConsumersService;
  let store: LogStore;
  /** What the host answers to add_subscriber. */
  let startOffset: number;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    indexer = new FakeIndexerClient();
    peers = new FakePeers();
    startOffset = 0;
    peers.handle(HOST, (pattern, data) => {
      const held = indexer.claims.get(data.topic)!;
      return { status: 'success', message: 'ok', ...held, startOffset };
    });
    peer = await startTestPeer(indexer, peers, {
      subscriptionCheckMs: CHECK_MS,
      heartbeatIntervalMs: 60_000,
    });
    peer.get(IndexerLink).start();
    subscriptions = peer.get(SubscriptionsService);
    consumers = peer.get(ConsumersService);
    store = peer.get(LogStore);
  });

  afterEach(async () => {
    await peer.close();
    jest.useRealTimers();
  });

  const records = (...messages: string[]) =>
    messages.map((message, offset) => ({ offset, message, publishedAt: 1 }));
  const deliver = (epoch: number, incarnation: string, ...messages: string[]) =>
    subscriptions.receive({ topic: 'News', epoch, incarnation, records: records(...messages) });
  const addSubscriberCalls = () =>
    peers.to(HOST, PeerInternalPatterns.AddSubscriber).map((request) => request.data);

  it('opens the replica under the host’s claim before asking the host, so a racing delivery lands', async () => {
    const claim = indexer.hold('News', HOST);
    peers.handle(HOST, async () => {
      await deliver(claim.epoch, claim.incarnation, 'raced the reply');
      return { status: 'success', message: 'ok', ...claim, startOffset: 0 };
    });
    const reply = await subscriptions.subscribe('News', 'earliest');
    expect(reply).toMatchObject({ hostPeer: HOST, incarnation: claim.incarnation });
    expect(store.get('News')).toMatchObject({ role: 'replica', epoch: claim.epoch });
    expect(store.get('News')!.log.nextOffset).toBe(1);
    expect(addSubscriberCalls()[0]).toMatchObject({ from: 'earliest', epoch: claim.epoch });
  });

  it('takes batches of its incarnation only; a newer one is refused and checked at once', async () => {
    const claim = indexer.hold('News', HOST);
    await subscriptions.subscribe('News');
    const stale = await deliver(claim.epoch - 1, 'older', 'from a host that lost the name').catch(
      (error: PubSubError) => error.code,
    );
    expect(stale).toBe('STALE_EPOCH');
    expect(store.get('News')!.log.nextOffset).toBe(0);

    const newer = indexer.hold('News', HOST);
    const refused = await deliver(newer.epoch, newer.incarnation, 'new').catch(
      (error: PubSubError) => error.code,
    );
    expect(refused).toBe('STALE_EPOCH');
    await eventually(() => addSubscriberCalls().length === 2);
    expect(store.get('News')).toMatchObject({ epoch: newer.epoch });
    expect(addSubscriberCalls().at(-1)).toMatchObject({ from: 'earliest', epoch: newer.epoch });
    expect(await deliver(newer.epoch, newer.incarnation, 'new')).toMatchObject({ ackedOffset: 0 });
  });

  it('confirms the same incarnation with its host every check, from where the replica ends', async () => {
    const claim = indexer.hold('News', HOST);
    await subscriptions.subscribe('News');
    await deliver(claim.epoch, claim.incarnation, 'a', 'b', 'c');
    await jest.advanceTimersByTimeAsync(CHECK_MS);
    expect(addSubscriberCalls()).toHaveLength(2);
    expect(addSubscriberCalls()[1]).toMatchObject({ from: 3, epoch: claim.epoch });
    expect(store.get('News')!.log.nextOffset).toBe(3);
  });

  it('starts a new replica from the start of a new incarnation, and tells each consumer once what it had not read', async () => {
    const old = indexer.hold('News', HOST);
    await subscriptions.subscribe('News');
    await deliver(old.epoch, old.incarnation, 'old 0', 'old 1', 'old 2');
    await consumers.pull({ topic: 'News', consumer: 'all' });
    await consumers.pull({ topic: 'News', consumer: 'some', max: 1 });

    // The host lost its data and created the topic again: a new incarnation.
    const renewed = indexer.hold('News', HOST);
    await jest.advanceTimersByTimeAsync(CHECK_MS);
    await eventually(() => addSubscriberCalls().length === 2);
    expect(addSubscriberCalls().at(-1)).toMatchObject({ from: 'earliest', epoch: renewed.epoch });
    expect(store.get('News')).toMatchObject({
      incarnation: renewed.incarnation,
      epoch: renewed.epoch,
    });
    await deliver(renewed.epoch, renewed.incarnation, 'new 0', 'new 1');

    const all = await consumers.pull({ topic: 'News', consumer: 'all' });
    expect(all).toMatchObject({
      incarnation: renewed.incarnation,
      reset: { previousIncarnation: old.incarnation, unread: 0 },
    });
    expect(all.messages.map((m) => [m.offset, m.message])).toEqual([
      [0, 'new 0'],
      [1, 'new 1'],
    ]);
    const some = await consumers.pull({ topic: 'News', consumer: 'some' });
    expect(some.reset).toEqual({ previousIncarnation: old.incarnation, unread: 2 });
    expect(some.messages).toHaveLength(2);
    const again = await consumers.pull({ topic: 'News', consumer: 'all' });
    expect(again.reset).toBeUndefined();
    // A consumer new to this peer starts in the new incarnation with nothing to be told.
    expect((await consumers.pull({ topic: 'News', consumer: 'new' })).reset).toBeUndefined();
  });

  it('keeps the replica while the indexer has no host for it, and never goes back to an older claim', async () => {
    const claim = indexer.hold('News', HOST);
    await subscriptions.subscribe('News');
    await deliver(claim.epoch, claim.incarnation, 'kept');
    indexer.claims.delete('News');
    await jest.advanceTimersByTimeAsync(CHECK_MS);
    expect(store.get('News')).toMatchObject({ incarnation: claim.incarnation });

    indexer.hold('News', HOST, claim.epoch - 1);
    await jest.advanceTimersByTimeAsync(CHECK_MS);
    expect(store.get('News')).toMatchObject({ incarnation: claim.incarnation });
    expect(store.get('News')!.log.nextOffset).toBe(1);
  });

  it('forgets the topic when its host deletes it, but not for a notice about another incarnation', async () => {
    const claim = indexer.hold('News', HOST);
    await subscriptions.subscribe('News');
    await subscriptions.topicDeleted('News', claim.epoch - 1);
    expect(store.get('News')).toBeDefined();
    await subscriptions.topicDeleted('News', claim.epoch);
    expect(store.get('News')).toBeUndefined();
  });
});
