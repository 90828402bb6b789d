// Guards the index the cluster's ownership rests on: one holder per name,
// claims whose epochs only grow (also when a registration reports epochs a
// restarted indexer never minted), the higher epoch winning a name two peers
// report, a peer learning from its heartbeat that its list changed, and
// eviction after the lease.
import { Logger } from '@nestjs/common';
import { IndexerConfig } from '../indexer.config';
import { RegistryService } from './registry.service';

describe('RegistryService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  let registry: RegistryService;

  beforeEach(() => {
    const config = Object.assign(new IndexerConfig(), { peerLeaseMs: 1_000 });
    registry = new RegistryService(config);
  });

  const claimOf = (topic: string, epoch: number) => ({ topic, epoch, incarnation: `i${epoch}` });

  it('derives a stable peer id from the address, so registering twice is idempotent', () => {
    const first = registry.register({ host: 'peer1', port: 5555 });
    const second = registry.register({ host: 'peer1', port: 5555 });
    expect(first.peerId).toBe('peer1:5555');
    expect(second.peerId).toBe(first.peerId);
    expect(registry.listPeers().peers).toHaveLength(1);
    expect(first.leaseMs).toBe(1_000);
  });

  it('mints a greater epoch and a new incarnation with every claim, also a second claim by the holder', () => {
    registry.register({ host: 'a', port: 1 });
    const first = registry.claim('Sports', 'a:1');
    const second = registry.claim('Sports', 'a:1');
    expect(first.epoch).toBeGreaterThanOrEqual(Date.now() - 60_000);
    expect(second.epoch).toBeGreaterThan(first.epoch);
    expect(second.incarnation).not.toBe(first.incarnation);
    expect(registry.lookup('Sports')).toMatchObject({
      peerId: 'a:1',
      epoch: second.epoch,
      incarnation: second.incarnation,
    });
  });

  it('mints past any epoch a registration reports, so a restarted indexer never goes back', () => {
    const future = Date.now() + 3_600_000;
    registry.register({ host: 'a', port: 1, topics: [claimOf('Old', future)] });
    registry.register({ host: 'b', port: 2 });
    expect(registry.claim('New', 'b:2').epoch).toBe(future + 1);
  });

  it('keeps reported topics nobody holds, and gives a name two peers report to the higher epoch', () => {
    registry.register({
      host: 'a',
      port: 1,
      topics: [claimOf('Mine', 5), claimOf('Contested', 5)],
    });
    // b claimed Contested later (a higher epoch): b wins, whoever registers first.
    const b = registry.register({ host: 'b', port: 2, topics: [claimOf('Contested', 9)] });
    expect(b.topics).toEqual([claimOf('Contested', 9)]);
    expect(registry.lookup('Contested')).toMatchObject({ peerId: 'b:2', epoch: 9 });
    // a reporting its older claim again changes nothing.
    const a = registry.register({ host: 'a', port: 1, topics: [claimOf('Contested', 5)] });
    expect(a.topics).toEqual([claimOf('Mine', 5)]);
    expect(registry.lookup('Contested').peerId).toBe('b:2');
  });

  it('lists a peer’s topics in a heartbeat reply only when they changed since the version it names', () => {
    const registered = registry.register({ host: 'a', port: 1, topics: [claimOf('Held', 5)] });
    const quiet = registry.heartbeat({ peerId: 'a:1', topicsVersion: registered.topicsVersion });
    expect(quiet.topics).toBeUndefined();
    expect(quiet.topicsVersion).toBe(registered.topicsVersion);

    // Another peer takes the name with a later claim: a's list changed.
    registry.register({ host: 'b', port: 2, topics: [claimOf('Held', 9)] });
    const told = registry.heartbeat({ peerId: 'a:1', topicsVersion: registered.topicsVersion });
    expect(told.topics).toEqual([]);
    expect(told.topicsVersion).not.toBe(registered.topicsVersion);
    expect(registry.heartbeat({ peerId: 'a:1' }).topics).toEqual([]);
  });

  it('lets only one peer claim a name, and only its holder release it, at the epoch it holds', () => {
    registry.register({ host: 'a', port: 1 });
    registry.register({ host: 'b', port: 2 });
    const first = registry.claim('Sports', 'a:1');
    expect(() => registry.claim('Sports', 'b:2')).toThrow(
      expect.objectContaining({ code: 'TOPIC_EXISTS' }),
    );
    const second = registry.claim('Sports', 'a:1');
    expect(() => registry.release('Sports', 'b:2')).toThrow(
      expect.objectContaining({ code: 'NOT_OWNER' }),
    );
    expect(() => registry.release('Sports', 'a:1', first.epoch)).toThrow(
      expect.objectContaining({ code: 'STALE_EPOCH' }),
    );
    registry.release('Sports', 'a:1', second.epoch);
    expect(() => registry.lookup('Sports')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
    expect(() => registry.release('Sports', 'a:1')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
  });

  it('once a peer shows it restarted, gives out no new name until a lease after its start', () => {
    const started = performance.now();
    registry.register({ host: 'fresh', port: 1 });
    // A first start (no peer knew an earlier indexer) gives names out at once.
    expect(registry.claim('Early', 'fresh:1', started).status).toBe('success');

    registry.register({ host: 'back', port: 2, lastIndexerId: 'an-earlier-run' });
    registry.register({ host: 'held', port: 3, topics: [claimOf('Held', 5)] });
    const refused = (() => {
      try {
        registry.claim('New', 'back:2', started + 999);
      } catch (error) {
        return error as { code: string; details: unknown };
      }
    })();
    expect(refused).toMatchObject({ code: 'PEER_UNAVAILABLE', details: { unsent: true } });
    // A name someone holds is still answered at once.
    expect(() => registry.claim('Held', 'back:2', started + 999)).toThrow(
      expect.objectContaining({ code: 'TOPIC_EXISTS' }),
    );
    expect(registry.claim('New', 'back:2', started + 1_001).status).toBe('success');
    // Reporting this very indexer is no sign of a restart.
    const again = new RegistryService(Object.assign(new IndexerConfig(), { peerLeaseMs: 1_000 }));
    again.register({ host: 'a', port: 1, lastIndexerId: again.indexerId });
    expect(again.claim('Now', 'a:1').status).toBe('success');
  });

  it('refuses claims and heartbeats from peers it does not know', () => {
    expect(() => registry.claim('Sports', 'ghost:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
    expect(() => registry.heartbeat({ peerId: 'ghost:1' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });

  it('evicts a peer silent past its lease, with its topics, and keeps one that heartbeats', () => {
    registry.register({ host: 'quiet', port: 1, topics: [claimOf('Q', 1)] }, 0);
    registry.register({ host: 'chatty', port: 2, topics: [claimOf('C', 2)] }, 0);
    registry.heartbeat({ peerId: 'chatty:2' }, 900);
    expect(registry.evictExpired(1_500)).toEqual(['quiet:1']);
    expect(() => registry.lookup('Q')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
    expect(registry.lookup('C').peerId).toBe('chatty:2');
    expect(() => registry.heartbeat({ peerId: 'quiet:1' })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });

  it('releases every topic of a peer that unregisters', () => {
    registry.register({ host: 'a', port: 1, topics: [claimOf('X', 1), claimOf('Y', 2)] });
    registry.unregister('a:1');
    expect(registry.listTopics().topics).toEqual([]);
    expect(() => registry.unregister('a:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });
});
