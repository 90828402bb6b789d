// Guards the delivery pump, host to subscriber peer: batches go in offset
// order with one in flight, each naming the topic's epoch and incarnation;
// a failure backs off (doubling, with jitter) and resumes from the
// acknowledged offset; acknowledged offsets are checkpointed at most every
// 100 ms; NOT_SUBSCRIBED drops the subscriber, STALE_EPOCH does not; and a
// subscriber asking under another claim is refused.
import { jest } from '@jest/globals';
import { TestingModule } from '@nestjs/testing';
import { NotSubscribedError, PeerInternalPatterns, StaleEpochError } from '@p2p-pubsub/protocol';
import { LogStore, StoredTopic } from '../log/log-store';
import { FakeIndexerClient, FakePeers, deferred, startTestPeer } from '../testing/peer-harness';
import { DeliveryService } from './delivery.service';

const SUBSCRIBER = '127.0.0.1:7002';
const CLAIM = { epoch: 9, incarnation: 'inc9' };

describe('DeliveryService', () => {
  let peers: FakePeers;
  let peer: TestingModule;
  let delivery: DeliveryService;
  let store: LogStore;
  let feed: StoredTopic;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    peers = new FakePeers();
    peer = await startTestPeer(new FakeIndexerClient(), peers);
    delivery = peer.get(DeliveryService);
    store = peer.get(LogStore);
    feed = await store.open('Feed', 'hosted', undefined, CLAIM);
  });

  afterEach(async () => {
    await peer.close();
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  const publish = async (...messages: string[]) => {
    for (const message of messages) await store.append('Feed', feed.log, message);
  };
  const subscribe = (from: 'earliest' | 'latest' = 'earliest', epoch = CLAIM.epoch) =>
    delivery.addSubscriber({ topic: 'Feed', host: '127.0.0.1', port: 7002, from, epoch });
  const offsetsSent = () =>
    peers
      .to(SUBSCRIBER, PeerInternalPatterns.Deliver)
      .map((request) => request.data.records.map((record: { offset: number }) => record.offset));
  const saved = () =>
    store.journal<{ nextOffset: number }>('Feed', 'subscribers').get(SUBSCRIBER)?.nextOffset;
  const ack = (offset: number) => ({ status: 'success', message: 'ok', ackedOffset: offset });

  it('sends batches in offset order, one in flight, naming the epoch and incarnation', async () => {
    const answers: Array<ReturnType<typeof deferred<unknown>>> = [];
    peers.handle(SUBSCRIBER, () => {
      answers.push(deferred<unknown>());
      return answers.at(-1)!.promise;
    });
    await publish('a', 'b', 'c');
    await subscribe();
    await publish('d', 'e');
    expect(offsetsSent()).toEqual([[0, 1, 2]]);
    expect(peers.requests[0].data).toMatchObject({ topic: 'Feed', ...CLAIM });

    answers[0].resolve(ack(2));
    await jest.advanceTimersByTimeAsync(0);
    expect(offsetsSent()).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it('backs off after a failure, doubling, and resumes from the acknowledged offset', async () => {
    // Jitter drawn at its least: each delay is the full 50, 100, 200 ms...
    jest.spyOn(Math, 'random').mockReturnValue(0);
    await publish('a', 'b');
    peers.handle(SUBSCRIBER, () => {
      // Takes only the first of the batch, then goes away.
      peers.refuse(SUBSCRIBER);
      return ack(0);
    });
    await subscribe();
    await jest.advanceTimersByTimeAsync(0);
    expect(offsetsSent()).toEqual([[0, 1], [1]]);
    await jest.advanceTimersByTimeAsync(49);
    expect(offsetsSent()).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(offsetsSent()).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(99);
    expect(offsetsSent()).toHaveLength(3);
    await jest.advanceTimersByTimeAsync(1);
    expect(offsetsSent()).toHaveLength(4);
    peers.handle(SUBSCRIBER, (_pattern, data) => ack(data.records.at(-1).offset));
    await jest.advanceTimersByTimeAsync(200);
    expect(offsetsSent().at(-1)).toEqual([1]);
    // A publish is not held back by the backoff that ended.
    const sent = offsetsSent().length;
    await publish('c');
    expect(offsetsSent()).toHaveLength(sent + 1);
  });

  it('draws each delay from the upper half of its doubling step (jitter)', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999);
    await publish('a');
    await subscribe();
    await jest.advanceTimersByTimeAsync(0);
    expect(offsetsSent()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(24);
    expect(offsetsSent()).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(offsetsSent()).toHaveLength(2);
  });

  it('checkpoints acknowledged offsets at most every 100 ms', async () => {
    peers.handle(SUBSCRIBER, (_pattern, data) => ack(data.records.at(-1).offset));
    await subscribe();
    expect(saved()).toBe(0);
    await publish('a');
    await jest.advanceTimersByTimeAsync(0);
    await publish('b');
    await jest.advanceTimersByTimeAsync(99);
    expect(saved()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(saved()).toBe(2);
  });

  it('drops a subscriber that answers NOT_SUBSCRIBED, and keeps one that answers STALE_EPOCH', async () => {
    await publish('a');
    peers.handle(SUBSCRIBER, () => {
      throw new StaleEpochError('Feed', CLAIM.epoch, CLAIM.epoch + 1);
    });
    await subscribe();
    await jest.advanceTimersByTimeAsync(60);
    expect(offsetsSent()).toHaveLength(2);
    expect(delivery.subscribersOf('Feed')).toEqual([SUBSCRIBER]);

    peers.handle(SUBSCRIBER, () => {
      throw new NotSubscribedError('Feed');
    });
    await jest.advanceTimersByTimeAsync(200);
    expect(delivery.subscribersOf('Feed')).toEqual([]);
    expect(saved()).toBeUndefined();
    const sent = offsetsSent().length;
    await publish('b');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(offsetsSent()).toHaveLength(sent);
  });

  it('refuses a subscriber that looked up another claim, and stops pushing a topic it no longer hosts', async () => {
    await expect(subscribe('earliest', CLAIM.epoch - 1)).rejects.toMatchObject({
      code: 'STALE_EPOCH',
    });
    expect(delivery.subscribersOf('Feed')).toEqual([]);

    peers.handle(SUBSCRIBER, (_pattern, data) => ack(data.records.at(-1).offset));
    expect(await subscribe()).toMatchObject({ ...CLAIM, startOffset: 0 });
    delivery.topicRetired('Feed');
    await publish('after');
    await jest.advanceTimersByTimeAsync(1_000);
    expect(offsetsSent()).toEqual([]);
  });
});
