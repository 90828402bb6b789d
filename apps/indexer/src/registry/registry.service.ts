import { randomBytes } from 'crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  ClaimResult,
  HeartbeatResult,
  LookupResult,
  NotOwnerError,
  PeerListResult,
  PeerUnavailableError,
  RegisterResult,
  StaleEpochError,
  SuccessReply,
  TopicClaim,
  TopicExistsError,
  TopicListResult,
  TopicNotFoundError,
  UnknownPeerError,
} from '@p2p-pubsub/protocol';
import { HeartbeatDto, RegisterDto } from '@p2p-pubsub/protocol/dto';
import { IndexerConfig } from '../indexer.config';

interface PeerRecord {
  peerId: string;
  host: string;
  port: number;
  /** Its HTTP ops port, as last registered. */
  opsPort?: number;
  topics: Set<string>;
  /** performance.now() of the last sign of life: leases run on a clock no one can set. */
  lastSeen: number;
  /** The same moment in wall-clock milliseconds, for people reading list_peers. */
  lastSeenAt: number;
  /** Changes with every change to `topics` or their claims; see HeartbeatResult. */
  topicsVersion: number;
}

interface HeldClaim {
  peerId: string;
  epoch: number;
  incarnation: string;
}

/**
 * Owns the index: which peers are alive and which peer hosts which topic,
 * under which claim. It is soft state: a restarted indexer starts empty and
 * peers rebuild it by registering again with the topics they host.
 *
 * Fencing: each claim mints an epoch greater than every epoch minted or
 * reported before, `max(last + 1, Date.now())`, so epochs also keep growing
 * across a restart that forgot them (given a clock that does not step back
 * past them). Where two peers report one name, the higher epoch wins, and
 * the loser learns it from its next heartbeat reply (its topics version
 * changed, so the reply lists its topics). A peer is told the lease in every
 * reply and stops serving before it can run out here (see IndexerLink).
 *
 * A restarted indexer knows no names until their hosts register again,
 * which each does within a heartbeat or stops serving. Once a peer shows it
 * was registered with an earlier indexer (so this one restarted), names no
 * peer holds are not given out until a lease has passed since the start: a
 * host that has not re-registered yet may still hold one.
 */
@Injectable()
export class RegistryService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Registry');
  private readonly peers = new Map<string, PeerRecord>();
  private readonly topicClaims = new Map<string, HeldClaim>();
  private lastEpoch = 0;
  /** One counter for every peer's topicsVersion, so a version never means two lists. */
  private lastVersion = Date.now();
  private sweepTimer?: NodeJS.Timeout;
  /** Names this run of the indexer; peers report it back when they register with the next one. */
  readonly indexerId = randomBytes(8).toString('hex');
  private readonly startedAt = performance.now();
  /** Since a peer reported an earlier indexer: new names wait for the lease after the start. */
  private restarted = false;
  /** Since start, for metrics. */
  readonly counts = { leasesExpired: 0, claims: 0 };

  constructor(@Inject(IndexerConfig) private readonly config: IndexerConfig) {}

  onModuleInit(): void {
    const every = Math.max(50, Math.floor(this.config.peerLeaseMs / 4));
    this.sweepTimer = setInterval(() => this.evictExpired(performance.now()), every);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  register(dto: RegisterDto, now = performance.now()): RegisterResult {
    const peerId = `${dto.host}:${dto.port}`;
    let peer = this.peers.get(peerId);
    if (!peer) {
      peer = {
        peerId,
        host: dto.host,
        port: dto.port,
        topics: new Set(),
        lastSeen: now,
        lastSeenAt: Date.now(),
        topicsVersion: this.nextVersion(),
      };
      this.peers.set(peerId, peer);
      this.logger.log(`peer ${peerId} registered`, { peer: peerId });
    }
    this.seen(peer, now);
    peer.opsPort = dto.opsPort;
    if (
      dto.lastIndexerId !== undefined &&
      dto.lastIndexerId !== this.indexerId &&
      !this.restarted
    ) {
      this.restarted = true;
      this.logger.warn(
        `peer ${peerId} was registered with an earlier indexer: this one restarted, and gives out no new name until ${this.config.peerLeaseMs} ms after its start, while hosts register again`,
      );
    }
    for (const reported of dto.topics ?? []) this.takeReported(peer, reported);
    return {
      status: 'success',
      message: `Peer ${peerId} registered`,
      peerId,
      leaseMs: this.config.peerLeaseMs,
      indexerId: this.indexerId,
      topics: this.claimsOf(peer),
      topicsVersion: peer.topicsVersion,
    };
  }

  unregister(peerId: string): SuccessReply {
    if (!this.removePeer(peerId)) throw new UnknownPeerError(peerId);
    this.logger.log(`peer ${peerId} unregistered`, { peer: peerId });
    return { status: 'success', message: `Peer ${peerId} unregistered` };
  }

  heartbeat(dto: HeartbeatDto, now = performance.now()): HeartbeatResult {
    const peer = this.peers.get(dto.peerId);
    if (!peer) throw new UnknownPeerError(dto.peerId);
    this.seen(peer, now);
    const result: HeartbeatResult = {
      status: 'success',
      message: 'ok',
      peerId: peer.peerId,
      leaseMs: this.config.peerLeaseMs,
      topicsVersion: peer.topicsVersion,
    };
    if (dto.topicsVersion !== peer.topicsVersion) result.topics = this.claimsOf(peer);
    return result;
  }

  lookup(topic: string): LookupResult {
    const claim = this.topicClaims.get(topic);
    const peer = claim === undefined ? undefined : this.peers.get(claim.peerId);
    if (!claim || !peer) throw new TopicNotFoundError(topic);
    return {
      status: 'success',
      message: `Topic '${topic}' is hosted by peer ${peer.peerId}`,
      topic,
      peerId: peer.peerId,
      host: peer.host,
      port: peer.port,
      epoch: claim.epoch,
      incarnation: claim.incarnation,
    };
  }

  /**
   * Gives the name to `peerId` under a new claim. The holder claiming again
   * (it lost the topic's data) gets a new claim too: a new incarnation.
   */
  claim(topic: string, peerId: string, now = performance.now()): ClaimResult {
    const peer = this.peers.get(peerId);
    if (!peer) throw new UnknownPeerError(peerId);
    const held = this.topicClaims.get(topic);
    if (held !== undefined && held.peerId !== peerId)
      throw new TopicExistsError(topic, held.peerId);
    const recoveringMs = this.startedAt + this.config.peerLeaseMs - now;
    if (held === undefined && this.restarted && recoveringMs > 0) {
      throw new PeerUnavailableError(
        'indexer',
        `it restarted and gives out no new name for ${Math.ceil(recoveringMs)} ms more, while the peers that host topics register again; nothing was claimed`,
        { unsent: true },
      );
    }
    const claim: HeldClaim = {
      peerId,
      epoch: this.mintEpoch(),
      incarnation: randomBytes(8).toString('hex'),
    };
    this.topicClaims.set(topic, claim);
    peer.topics.add(topic);
    peer.topicsVersion = this.nextVersion();
    this.counts.claims++;
    this.logger.log(`topic '${topic}' claimed by ${peerId} (epoch ${claim.epoch})`, {
      topic,
      peer: peerId,
    });
    return {
      status: 'success',
      message: `Topic '${topic}' created`,
      topic,
      peerId,
      epoch: claim.epoch,
      incarnation: claim.incarnation,
    };
  }

  /** Frees the name; with `epoch`, only if that is the claim held (a newer one stays). */
  release(topic: string, peerId: string, epoch?: number): ClaimResult {
    const held = this.topicClaims.get(topic);
    if (held === undefined) throw new TopicNotFoundError(topic);
    if (held.peerId !== peerId) throw new NotOwnerError(topic, peerId);
    if (epoch !== undefined && epoch !== held.epoch)
      throw new StaleEpochError(topic, epoch, held.epoch);
    this.topicClaims.delete(topic);
    const peer = this.peers.get(peerId);
    if (peer) {
      peer.topics.delete(topic);
      peer.topicsVersion = this.nextVersion();
    }
    this.logger.log(`topic '${topic}' released by ${peerId}`, { topic, peer: peerId });
    return {
      status: 'success',
      message: `Topic '${topic}' deleted`,
      topic,
      peerId,
      epoch: held.epoch,
      incarnation: held.incarnation,
    };
  }

  get peerCount(): number {
    return this.peers.size;
  }

  get topicCount(): number {
    return this.topicClaims.size;
  }

  listTopics(): TopicListResult {
    const topics = [...this.topicClaims].map(([topic, claim]) => ({
      topic,
      peerId: claim.peerId,
      epoch: claim.epoch,
      incarnation: claim.incarnation,
    }));
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
      const silentMs = Math.round(now - peer.lastSeen);
      if (silentMs > this.config.peerLeaseMs) {
        this.removePeer(peer.peerId);
        evicted.push(peer.peerId);
        this.counts.leasesExpired++;
        this.logger.warn(
          `peer ${peer.peerId} evicted: silent for ${silentMs} ms (lease ${this.config.peerLeaseMs} ms); topics released: ${[...peer.topics].join(', ') || 'none'}`,
          { peer: peer.peerId, topics: [...peer.topics] },
        );
      }
    }
    return evicted;
  }

  /**
   * A topic a registering peer says it hosts. Nobody holds it: it is the
   * peer's again. Another peer holds it: the higher epoch is the later claim
   * and wins (the other peer was evicted and the name claimed again, then
   * this indexer restarted and heard from the older claimant first).
   */
  private takeReported(peer: PeerRecord, reported: TopicClaim): void {
    this.lastEpoch = Math.max(this.lastEpoch, reported.epoch);
    const { topic } = reported;
    const held = this.topicClaims.get(topic);
    if (held?.peerId === peer.peerId && held.epoch >= reported.epoch) return;
    if (held !== undefined && held.peerId !== peer.peerId) {
      if (held.epoch >= reported.epoch) {
        this.logger.warn(
          `peer ${peer.peerId} reports topic '${topic}' at epoch ${reported.epoch}; ${held.peerId} holds the later claim (epoch ${held.epoch}) and keeps it`,
        );
        return;
      }
      const loser = this.peers.get(held.peerId);
      if (loser) {
        loser.topics.delete(topic);
        loser.topicsVersion = this.nextVersion();
      }
      this.logger.warn(
        `topic '${topic}' goes to ${peer.peerId} (epoch ${reported.epoch}), a later claim than ${held.peerId}'s (epoch ${held.epoch})`,
      );
    }
    this.topicClaims.set(topic, {
      peerId: peer.peerId,
      epoch: reported.epoch,
      incarnation: reported.incarnation,
    });
    peer.topics.add(topic);
    peer.topicsVersion = this.nextVersion();
  }

  private claimsOf(peer: PeerRecord): TopicClaim[] {
    const claims: TopicClaim[] = [];
    for (const topic of peer.topics) {
      const claim = this.topicClaims.get(topic);
      if (claim?.peerId === peer.peerId)
        claims.push({ topic, epoch: claim.epoch, incarnation: claim.incarnation });
    }
    return claims;
  }

  private seen(peer: PeerRecord, now: number): void {
    peer.lastSeen = now;
    peer.lastSeenAt = Date.now();
  }

  private mintEpoch(): number {
    this.lastEpoch = Math.max(this.lastEpoch + 1, Date.now());
    return this.lastEpoch;
  }

  private nextVersion(): number {
    return ++this.lastVersion;
  }

  private removePeer(peerId: string): boolean {
    const peer = this.peers.get(peerId);
    if (!peer) return false;
    for (const topic of peer.topics) {
      if (this.topicClaims.get(topic)?.peerId === peerId) this.topicClaims.delete(topic);
    }
    this.peers.delete(peerId);
    return true;
  }
}
