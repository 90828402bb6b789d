// Guards hosting and forwarding under fencing. Forwarding: a request goes to
// the host with the epoch it was looked up at; a refusal that proves nothing
// was stored (refused connection, NOT_OWNER, STALE_EPOCH) is retried with
// backoff and a fresh lookup; a request that may have reached its host is
// never sent again, and its caller gets PEER_UNAVAILABLE (outcome unknown),
// never a definite error. Hosting: publishes only under the lease, a
// forwarded request only under the claim it names, and a topic the indexer
// gave away (or holds without data here) is retired (or created anew) before
// the reply's lease takes effect, except one that changed since.
import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { jest } from '@jest/globals';
import { TestingModule } from '@nestjs/testing';
import {
  NotOwnerError,
  PeerInternalPatterns,
  PeerUnavailableError,
  PubSubError,
  StaleEpochError,
} from '@p2p-pubsub/protocol';
import { IndexerLink, LEASE_DRIFT_MARGIN } from '../links/indexer-link';
import { LogStore } from '../log/log-store';
import {
  FakeIndexerClient,
  FakePeers,
  PEER_ID,
  deferred,
  eventually,
  startTestPeer,
} from '../testing/peer-harness';
import { TopicsService } from './topics.service';

const B = '127.0.0.1:7002';
const C = '127.0.0.1:7003';

const published = (offset: number) => ({ status: 'success', message: 'ok', offset });

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<PubSubError> {
  try {
    await promise;
  } catch (error) {
    return error as PubSubError;
  }
  throw new Error('expected a failure');
}

describe('TopicsService', () => {
  let indexer: FakeIndexerClient;
  let peers: FakePeers;
  let peer: TestingModule;
  let topics: TopicsService;
  let store: LogStore;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    indexer = new FakeIndexerClient();
    peers = new FakePeers();
  });

  async function start(overrides = {}) {
    peer = await startTestPeer(indexer, peers, {
      heartbeatIntervalMs: 1_000,
      requestTimeoutMs: 2_000,
      ...overrides,
    });
    topics = peer.get(TopicsService);
    store = peer.get(LogStore);
    peer.get(IndexerLink).start();
    await jest.advanceTimersByTimeAsync(0);
  }

  afterEach(async () => {
    indexer.gate = () => undefined;
    await peer?.close();
    jest.useRealTimers();
  });

  describe('forwarding', () => {
    beforeEach(() => start());

    it('sends a publish to the host with the epoch it looked up, and reuses the lookup', async () => {
      const { epoch } = indexer.hold('Remote', B);
      peers.handle(B, () => published(3));
      expect(await topics.publish('Remote', 'one')).toMatchObject({ offset: 3 });
      await topics.publish('Remote', 'two');
      expect(peers.to(B)).toEqual([
        {
          address: B,
          pattern: PeerInternalPatterns.Publish,
          data: { topic: 'Remote', message: 'one', epoch },
        },
        {
          address: B,
          pattern: PeerInternalPatterns.Publish,
          data: { topic: 'Remote', message: 'two', epoch },
        },
      ]);
      expect(indexer.count('lookup')).toBe(1);
    });

    it('retries a refused connection with backoff, looking the host up again, until the host is back', async () => {
      indexer.hold('Remote', B);
      const publishing = topics.publish('Remote', 'patient');
      await jest.advanceTimersByTimeAsync(0);
      expect(peers.to(B)).toHaveLength(1);
      // Backoff: the first retry comes 25-50 ms later, the second 50-100 ms after that.
      await jest.advanceTimersByTimeAsync(50);
      expect(peers.to(B)).toHaveLength(2);
      peers.handle(B, () => published(0));
      await jest.advanceTimersByTimeAsync(100);
      expect(await publishing).toMatchObject({ offset: 0 });
      expect(peers.to(B)).toHaveLength(3);
      expect(indexer.count('lookup')).toBe(3);
    });

    it('goes to the new host, with its epoch, after a refusal that proves nothing was stored', async () => {
      indexer.hold('Remote', B);
      peers.handle(B, (_pattern, data) => {
        // Meanwhile the name moved to C under a later claim.
        indexer.hold('Remote', C);
        throw new StaleEpochError('Remote', data.epoch, data.epoch + 1);
      });
      peers.handle(C, () => published(0));
      const publishing = topics.publish('Remote', 'moved');
      await jest.advanceTimersByTimeAsync(100);
      expect(await publishing).toMatchObject({ offset: 0 });
      expect(peers.to(C)[0].data.epoch).toBe(indexer.claims.get('Remote')!.epoch);

      // NOT_OWNER (a host whose lease lapsed) is the same kind of refusal.
      peers.handle(C, () => {
        indexer.hold('Remote', B);
        throw new NotOwnerError('Remote', C);
      });
      peers.handle(B, () => published(1));
      const again = topics.publish('Remote', 'moved back');
      await jest.advanceTimersByTimeAsync(100);
      expect(await again).toMatchObject({ offset: 1 });
    });

    it('never sends again a request that may have reached its host: PEER_UNAVAILABLE, not the definite error a retry would give', async () => {
      indexer.hold('Remote', B);
      peers.handle(B, () => {
        // The host answered nothing in time; meanwhile it lost the name.
        indexer.claims.delete('Remote');
        throw new PeerUnavailableError(B, 'no reply within 2000 ms');
      });
      const error = await failure(topics.publish('Remote', 'maybe'));
      expect(error.code).toBe('PEER_UNAVAILABLE');
      expect(peers.to(B)).toHaveLength(1);
      expect(indexer.count('lookup')).toBe(1);

      // The next publish looks the host up afresh: now a definite answer, sent nowhere.
      expect((await failure(topics.publish('Remote', 'next'))).code).toBe('TOPIC_NOT_FOUND');
      expect(peers.to(B)).toHaveLength(1);
    });

    it('gives up after REQUEST_TIMEOUT_MS with the last definite refusal', async () => {
      indexer.hold('Remote', B);
      peers.handle(B, () => {
        throw new NotOwnerError('Remote', B, 'its lease at the indexer has lapsed');
      });
      const publishing = failure(topics.publish('Remote', 'refused'));
      await jest.advanceTimersByTimeAsync(2_000);
      expect((await publishing).code).toBe('NOT_OWNER');
      expect(peers.to(B).length).toBeGreaterThan(3);
    });

    it('says PEER_UNAVAILABLE with `unsent` when the indexer cannot be reached, and TOPIC_NOT_FOUND when no peer hosts the topic', async () => {
      expect((await failure(topics.publish('Nowhere', 'lost'))).code).toBe('TOPIC_NOT_FOUND');
      indexer.gate = (method) => {
        if (method === 'lookup') throw new PeerUnavailableError('indexer', 'no reply');
      };
      const error = await failure(topics.publish('Nowhere', 'lost'));
      expect(error.code).toBe('PEER_UNAVAILABLE');
      expect(error.details).toEqual({ unsent: true });
      expect(peers.requests).toEqual([]);
    });
  });

  describe('hosting', () => {
    /** From now on, no heartbeat is answered: the lease runs out. */
    const silenceIndexer = () => {
      indexer.gate = (method) =>
        method === 'heartbeat' ? new Promise(() => undefined) : undefined;
    };

    it('publishes only while it holds its lease: after that NOT_OWNER, and nothing is stored', async () => {
      await start();
      await topics.create('Local');
      expect(await topics.publish('Local', 'first')).toMatchObject({ offset: 0 });
      silenceIndexer();
      await jest.advanceTimersByTimeAsync(indexer.leaseMs);
      expect((await failure(topics.publish('Local', 'late'))).code).toBe('NOT_OWNER');
      expect(store.get('Local')!.log.nextOffset).toBe(1);
    });

    it('answers PEER_UNAVAILABLE, not success, when its lease lapses while the message is stored', async () => {
      await start({ fsync: 'always' });
      await topics.create('Local');
      silenceIndexer();
      const append = store.append.bind(store);
      jest.spyOn(store, 'append').mockImplementationOnce(async (...args) => {
        const record = await append(...args);
        // The sync took longer than what was left of the lease.
        jest.advanceTimersByTime(indexer.leaseMs * (1 - LEASE_DRIFT_MARGIN));
        return record;
      });
      expect((await failure(topics.publish('Local', 'slow'))).code).toBe('PEER_UNAVAILABLE');
    });

    it('refuses a forwarded publish or delete naming another claim (STALE_EPOCH) or a topic it does not host (NOT_OWNER)', async () => {
      await start();
      await topics.create('Local');
      const { epoch } = store.get('Local')!;
      const stale = { topic: 'Local', message: 'old lookup', epoch: epoch - 1 };
      expect((await failure(topics.publishForwarded(stale))).code).toBe('STALE_EPOCH');
      expect((await failure(topics.deleteForwarded(stale))).code).toBe('STALE_EPOCH');
      const elsewhere = { topic: 'Other', message: 'wrong peer', epoch };
      expect((await failure(topics.publishForwarded(elsewhere))).code).toBe('NOT_OWNER');
      expect(store.get('Local')!.log.nextOffset).toBe(0);
      expect(await topics.publishForwarded({ ...stale, epoch })).toMatchObject({ offset: 0 });
    });
  });

  describe('the indexer’s list of its topics', () => {
    it('stops hosting a topic given to another peer before the new lease, keeps its log in retired/, and forwards from then on', async () => {
      await start();
      await topics.create('Local');
      await topics.publish('Local', 'kept aside');
      indexer.hold('Local', B); // a later claim by another peer
      const heartbeat = deferred();
      indexer.gate = (method) => (method === 'heartbeat' ? heartbeat.promise : undefined);
      await jest.advanceTimersByTimeAsync(indexer.leaseMs); // our lease ran out meanwhile
      expect(peer.get(IndexerLink).holdsLease()).toBe(false);
      heartbeat.resolve();
      await jest.advanceTimersByTimeAsync(0);
      expect(store.get('Local')).toBeUndefined();

      const retired = join(store.dataPath, 'retired');
      await eventually(() => existsSync(retired) && readdirSync(retired).length > 0);
      const [dir] = readdirSync(retired);
      expect(readdirSync(join(retired, dir))).toEqual(
        expect.arrayContaining(['meta.journal', '00000000000000000000.log']),
      );
      peers.handle(B, () => published(7));
      expect(await topics.publish('Local', 'to the new host')).toMatchObject({ offset: 7 });
    });

    it('creates again, as a new incarnation, a topic the indexer holds for it without a log here', async () => {
      const old = indexer.hold('Lost', PEER_ID);
      await start();
      await eventually(() => store.get('Lost') !== undefined);
      const recreated = store.get('Lost')!;
      expect(recreated.role).toBe('hosted');
      expect(recreated.epoch).toBeGreaterThan(old.epoch);
      expect(recreated.incarnation).not.toBe(old.incarnation);
      expect(indexer.claims.get('Lost')).toMatchObject({ epoch: recreated.epoch });
    });

    it('leaves alone a topic created after the heartbeat went out, and asks for the list again', async () => {
      await start();
      const heartbeat = deferred();
      indexer.topicsVersion++; // so that the next reply carries a list: without Fresh
      indexer.gate = (method) => (method === 'heartbeat' ? heartbeat.promise : undefined);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(indexer.count('heartbeat')).toBe(1);
      indexer.gate = () => undefined;
      await topics.create('Fresh');
      heartbeat.resolve();
      await jest.advanceTimersByTimeAsync(0);
      expect(store.get('Fresh')?.role).toBe('hosted');
      indexer.gate = () => undefined;
      await jest.advanceTimersByTimeAsync(1_000);
      expect(indexer.calls.at(-1)).toEqual({ method: 'heartbeat', args: [PEER_ID, undefined] });
    });

    it('keeps aside, and deletes where it lives now, a topic deleted here after another peer took it', async () => {
      await start();
      await topics.create('Local');
      const taken = indexer.hold('Local', B);
      peers.handle(B, () => ({ status: 'success', message: 'deleted', topic: 'Local' }));
      await topics.delete('Local');
      expect(store.get('Local')).toBeUndefined();
      expect(peers.to(B)).toEqual([
        {
          address: B,
          pattern: PeerInternalPatterns.DeleteTopic,
          data: { topic: 'Local', epoch: taken.epoch },
        },
      ]);
      await eventually(() => existsSync(join(store.dataPath, 'retired')));
    });
  });
});
