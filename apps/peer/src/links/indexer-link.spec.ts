// Guards the indexer link that fencing rests on: registration with the
// topics this peer hosts and their claims, a lease counted from when the
// request was sent (not answered) and given up before the indexer's, at once
// when the indexer forgets the peer, kept while the indexer is merely
// unreachable; and the indexer's topic list handed over before the lease it
// brings takes effect, asked for again when it could not all be applied.
import { jest } from '@jest/globals';
import { TestingModule } from '@nestjs/testing';
import { PeerUnavailableError } from '@p2p-pubsub/protocol';
import { LogStore } from '../log/log-store';
import {
  FakeIndexerClient,
  FakePeers,
  PEER_ID,
  deferred,
  startTestPeer,
} from '../testing/peer-harness';
import { IndexerLink, LEASE_DRIFT_MARGIN } from './indexer-link';

describe('IndexerLink', () => {
  let indexer: FakeIndexerClient;
  let peer: TestingModule;
  let link: IndexerLink;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    indexer = new FakeIndexerClient();
    peer = await startTestPeer(indexer, new FakePeers(), { heartbeatIntervalMs: 1_000 });
    link = peer.get(IndexerLink);
  });

  afterEach(async () => {
    await peer.close();
    jest.useRealTimers();
  });

  /** Lets the link's pending promises run without moving the clock. */
  const settle = () => jest.advanceTimersByTimeAsync(0);

  it('registers with every hosted topic and its claim, and serves nothing before that', async () => {
    await peer.get(LogStore).open('Sports', 'hosted', undefined, { epoch: 5, incarnation: 'abc' });
    expect(link.holdsLease()).toBe(false);
    link.start();
    await settle();
    expect(indexer.calls[0]).toEqual({
      method: 'register',
      args: ['127.0.0.1', 7001, [{ topic: 'Sports', epoch: 5, incarnation: 'abc' }]],
    });
    expect(link.holdsLease()).toBe(true);
  });

  it('counts the lease from when the request was sent, less the drift margin', async () => {
    const reply = deferred();
    indexer.gate = (method) => (method === 'register' ? reply.promise : undefined);
    link.start();
    await settle();
    // The reply takes 3 s to come back: those 3 s are part of the lease already.
    await jest.advanceTimersByTimeAsync(3_000);
    reply.resolve();
    await settle();
    // No heartbeat is ever answered.
    indexer.gate = (method) => (method === 'heartbeat' ? new Promise(() => undefined) : undefined);
    const leaseLeft = indexer.leaseMs * (1 - LEASE_DRIFT_MARGIN) - 3_000;
    await jest.advanceTimersByTimeAsync(leaseLeft - 1);
    expect(link.holdsLease()).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    expect(link.holdsLease()).toBe(false);
  });

  it('keeps its lease through failed heartbeats until it runs out, then gets it back by registering', async () => {
    link.start();
    await settle();
    indexer.gate = (method) => {
      if (method === 'heartbeat' || method === 'register')
        throw new PeerUnavailableError('indexer', 'no reply within 5000 ms');
    };
    await jest.advanceTimersByTimeAsync(indexer.leaseMs * (1 - LEASE_DRIFT_MARGIN) - 1);
    expect(link.holdsLease()).toBe(true);
    await jest.advanceTimersByTimeAsync(1);
    expect(link.holdsLease()).toBe(false);
    indexer.gate = () => undefined;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(link.holdsLease()).toBe(true);
  });

  it('stops serving as soon as the indexer says it does not know the peer, and registers again', async () => {
    link.start();
    await settle();
    indexer.registered.clear(); // the indexer restarted empty, or evicted us
    const register = deferred();
    indexer.gate = (method) => (method === 'register' ? register.promise : undefined);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(indexer.count('heartbeat')).toBe(1);
    expect(link.holdsLease()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(indexer.count('register')).toBe(2);
    expect(link.holdsLease()).toBe(false);
    register.resolve();
    await settle();
    expect(link.holdsLease()).toBe(true);
  });

  it('hands the topic list over before renewing the lease, and asks for it again only when it changed or was not all applied', async () => {
    const seen: Array<{ topics: string[]; leased: boolean }> = [];
    let decide = true;
    link.setOwner({
      reconcile: (held) => {
        seen.push({ topics: held.map((claim) => claim.topic), leased: link.holdsLease() });
        return decide;
      },
    });
    link.start();
    await settle();
    expect(seen).toEqual([{ topics: [], leased: false }]);

    await jest.advanceTimersByTimeAsync(1_000);
    expect(indexer.calls.at(-1)).toEqual({
      method: 'heartbeat',
      args: [PEER_ID, indexer.topicsVersion],
    });
    expect(seen).toHaveLength(1); // unchanged: no list

    indexer.hold('Moved', PEER_ID);
    decide = false;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen.at(-1)).toEqual({ topics: ['Moved'], leased: true });
    // Not all applied: the next heartbeat names no version, so it gets the list again.
    decide = true;
    await jest.advanceTimersByTimeAsync(1_000);
    expect(indexer.calls.at(-1)).toEqual({ method: 'heartbeat', args: [PEER_ID, undefined] });
    expect(seen).toHaveLength(3);
  });

  it('stops serving when the wall clock says the lease is over, as after the machine was suspended', async () => {
    link.start();
    await settle();
    expect(link.holdsLease()).toBe(true);
    // Suspended: the monotonic clock stood still while the wall clock went on.
    jest.setSystemTime(Date.now() + indexer.leaseMs);
    expect(link.holdsLease()).toBe(false);
  });

  it('gives up its lease before unregistering on shutdown', async () => {
    link.start();
    await settle();
    let leasedWhileUnregistering: boolean | undefined;
    indexer.gate = (method) => {
      if (method === 'unregister') leasedWhileUnregistering = link.holdsLease();
    };
    await peer.close();
    expect(indexer.count('unregister')).toBe(1);
    expect(leasedWhileUnregistering).toBe(false);
    peer = await startTestPeer(indexer, new FakePeers());
  });
});
