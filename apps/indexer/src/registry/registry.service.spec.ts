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

  it('derives a stable peer id from the address, so registering twice is idempotent', () => {
    const first = registry.register({ host: 'peer1', port: 5555 });
    const second = registry.register({ host: 'peer1', port: 5555 });
    expect(first.peerId).toBe('peer1:5555');
    expect(second.peerId).toBe(first.peerId);
    expect(registry.listPeers().peers).toHaveLength(1);
  });

  it('takes the topics a peer reports on registration, unless another peer holds them', () => {
    registry.register({ host: 'a', port: 1 });
    registry.claim('Held', 'a:1');
    const result = registry.register({ host: 'b', port: 2, topics: ['Mine', 'Held'] });
    expect(result.topics).toEqual(['Mine']);
    expect(registry.lookup('Mine').peerId).toBe('b:2');
    expect(registry.lookup('Held').peerId).toBe('a:1');
  });

  it('lets only one peer claim a name, and only its holder release it', () => {
    registry.register({ host: 'a', port: 1 });
    registry.register({ host: 'b', port: 2 });
    registry.claim('Sports', 'a:1');
    expect(() => registry.claim('Sports', 'b:2')).toThrow(
      expect.objectContaining({ code: 'TOPIC_EXISTS' }),
    );
    expect(registry.claim('Sports', 'a:1').status).toBe('success');
    expect(() => registry.release('Sports', 'b:2')).toThrow(
      expect.objectContaining({ code: 'NOT_OWNER' }),
    );
    registry.release('Sports', 'a:1');
    expect(() => registry.lookup('Sports')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
    expect(() => registry.release('Sports', 'a:1')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
  });

  it('refuses claims and heartbeats from peers it does not know', () => {
    expect(() => registry.claim('Sports', 'ghost:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
    expect(() => registry.heartbeat('ghost:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });

  it('evicts a peer silent past its lease, with its topics, and keeps one that heartbeats', () => {
    registry.register({ host: 'quiet', port: 1, topics: ['Q'] }, 0);
    registry.register({ host: 'chatty', port: 2, topics: ['C'] }, 0);
    registry.heartbeat('chatty:2', 900);
    expect(registry.evictExpired(1_500)).toEqual(['quiet:1']);
    expect(() => registry.lookup('Q')).toThrow(
      expect.objectContaining({ code: 'TOPIC_NOT_FOUND' }),
    );
    expect(registry.lookup('C').peerId).toBe('chatty:2');
    expect(() => registry.heartbeat('quiet:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });

  it('releases every topic of a peer that unregisters', () => {
    registry.register({ host: 'a', port: 1, topics: ['X', 'Y'] });
    registry.unregister('a:1');
    expect(registry.listTopics().topics).toEqual([]);
    expect(() => registry.unregister('a:1')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_PEER' }),
    );
  });
});
