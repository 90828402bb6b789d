import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  ClaimResult,
  HeartbeatResult,
  LookupResult,
  NotOwnerError,
  PeerListResult,
  RegisterResult,
  SuccessReply,
  TopicExistsError,
  TopicListResult,
  TopicNotFoundError,
  UnknownPeerError,
} from '@p2p-pubsub/protocol';
import { RegisterDto } from '@p2p-pubsub/protocol/dto';
import { IndexerConfig } from '../indexer.config';

interface PeerRecord {
  peerId: string;
  host: string;
  port: number;
  /** Its HTTP ops port, as last registered. */
  opsPort?: number;
  topics: Set<string>;
  lastSeenAt: number;
}

/**
 * Owns the index: which peers are alive and which peer hosts which topic.
 * It is soft state: a restarted indexer starts empty and peers rebuild it by
 * registering again with the topics they host.
 */
@Injectable()
export class RegistryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Registry');
  private readonly peers = new Map<string, PeerRecord>();
  private readonly topicHosts = new Map<string, string>();
  private sweepTimer?: NodeJS.Timeout;
  /** Since start, for metrics. */
  readonly counts = { leasesExpired: 0, claims: 0 };

  constructor(@Inject(IndexerConfig) private readonly config: IndexerConfig) {}

  onModuleInit(): void {
    const every = Math.max(50, Math.floor(this.config.peerLeaseMs / 4));
    this.sweepTimer = setInterval(() => this.evictExpired(Date.now()), every);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  register(dto: RegisterDto, now = Date.now()): RegisterResult {
    const peerId = `${dto.host}:${dto.port}`;
    let peer = this.peers.get(peerId);
    if (!peer) {
      peer = { peerId, host: dto.host, port: dto.port, topics: new Set(), lastSeenAt: now };
      this.peers.set(peerId, peer);
      this.logger.log(`peer ${peerId} registered`, { peer: peerId });
    }
    peer.lastSeenAt = now;
    peer.opsPort = dto.opsPort;
    for (const topic of dto.topics ?? []) {
      const holder = this.topicHosts.get(topic);
      if (holder === undefined) {
        this.topicHosts.set(topic, peerId);
        peer.topics.add(topic);
      } else if (holder !== peerId) {
        this.logger.warn(
          `peer ${peerId} reports topic '${topic}', which ${holder} holds; keeping ${holder}`,
        );
      }
    }
    return {
      status: 'success',
      message: `Peer ${peerId} registered`,
      peerId,
      topics: [...peer.topics],
    };
  }

  unregister(peerId: string): SuccessReply {
    if (!this.removePeer(peerId)) throw new UnknownPeerError(peerId);
    this.logger.log(`peer ${peerId} unregistered`, { peer: peerId });
    return { status: 'success', message: `Peer ${peerId} unregistered` };
  }

  heartbeat(peerId: string, now = Date.now()): HeartbeatResult {
    const peer = this.peers.get(peerId);
    if (!peer) throw new UnknownPeerError(peerId);
    peer.lastSeenAt = now;
    return { status: 'success', message: 'ok', peerId };
  }

  lookup(topic: string): LookupResult {
    const peerId = this.topicHosts.get(topic);
    const peer = peerId === undefined ? undefined : this.peers.get(peerId);
    if (!peer) throw new TopicNotFoundError(topic);
    return {
      status: 'success',
      message: `Topic '${topic}' is hosted by peer ${peer.peerId}`,
      topic,
      peerId: peer.peerId,
      host: peer.host,
      port: peer.port,
    };
  }

  claim(topic: string, peerId: string): ClaimResult {
    const peer = this.peers.get(peerId);
    if (!peer) throw new UnknownPeerError(peerId);
    const holder = this.topicHosts.get(topic);
    if (holder !== undefined && holder !== peerId) throw new TopicExistsError(topic, holder);
    this.topicHosts.set(topic, peerId);
    peer.topics.add(topic);
    this.counts.claims++;
    this.logger.log(`topic '${topic}' claimed by ${peerId}`, { topic, peer: peerId });
    return { status: 'success', message: `Topic '${topic}' created`, topic, peerId };
  }

  release(topic: string, peerId: string): ClaimResult {
    const holder = this.topicHosts.get(topic);
    if (holder === undefined) throw new TopicNotFoundError(topic);
    if (holder !== peerId) throw new NotOwnerError(topic, peerId);
    this.topicHosts.delete(topic);
    this.peers.get(peerId)?.topics.delete(topic);
    this.logger.log(`topic '${topic}' released by ${peerId}`, { topic, peer: peerId });
    return { status: 'success', message: `Topic '${topic}' deleted`, topic, peerId };
  }

  get peerCount(): number {
    return this.peers.size;
  }

  get topicCount(): number {
    return this.topicHosts.size;
  }

  listTopics(): TopicListResult {
    const topics = [...this.topicHosts].map(([topic, peerId]) => ({ topic, peerId }));
    return { status: 'success', message: `${topics.length} topic(s)`, topics };
  }

  listPeers(): PeerListResult {
    const peers = [...this.peers.values()].map((peer) => ({
      peerId: peer.peerId,
      host: peer.host,
      port: peer.port,
      topics: [...peer.topics],
      lastSeenAt: peer.lastSeenAt,
      ...(peer.opsPort === undefined ? {} : { opsPort: peer.opsPort }),
    }));
    return { status: 'success', message: `${peers.length} peer(s)`, peers };
  }

  /** Drops every peer silent for longer than the lease, with its topics. */
  evictExpired(now: number): string[] {
    const evicted: string[] = [];
    for (const peer of this.peers.values()) {
      if (now - peer.lastSeenAt > this.config.peerLeaseMs) {
        this.removePeer(peer.peerId);
        evicted.push(peer.peerId);
        this.counts.leasesExpired++;
        this.logger.warn(
          `peer ${peer.peerId} evicted: silent for ${now - peer.lastSeenAt} ms (lease ${this.config.peerLeaseMs} ms); topics released: ${[...peer.topics].join(', ') || 'none'}`,
          { peer: peer.peerId, topics: [...peer.topics] },
        );
      }
    }
    return evicted;
  }

  private removePeer(peerId: string): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    for (const topic of peer.topics) {
      if (this.topicHosts.get(topic) === peerId) this.topicHosts.delete(topic);
    }
    this.peers.delete(peerId);
    return true;
  }
}
