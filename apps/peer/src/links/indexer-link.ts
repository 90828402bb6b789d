import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Backoff, IndexerClient } from '@p2p-pubsub/client';
import {
  ClaimResult,
  ErrorCodes,
  LookupResult,
  PubSubError,
  TopicClaim,
} from '@p2p-pubsub/protocol';
import { ServiceReadiness } from '@p2p-pubsub/server';
import { LogStore } from '../log/log-store';
import { TopicLocks } from '../log/topic-locks';
import { PeerConfig } from '../peer.config';
import { PeerIdentity } from '../peer-identity';
import { INDEXER_CLIENT } from './links.tokens';
import { LookupCache } from './lookup-cache';

/**
 * The share of the lease this peer gives up for clock drift: it stops
 * serving its topics at 95% of the lease after sending its last acknowledged
 * heartbeat, where the indexer evicts it no sooner than 100% after receiving
 * it. Both measure with monotonic clocks, which may run at slightly different
 * rates: 5% is a hundred times the 500 ppm by which NTP may slew a clock.
 *
 * The wall clock is checked too: a monotonic clock stops while the whole
 * machine is suspended, the wall clock does not. A wall clock stepped
 * forward only ends the lease early; stepped back, the monotonic one holds.
 */
export const LEASE_DRIFT_MARGIN = 0.05;

/** Told the indexer's list of the topics it holds for this peer (see TopicsService). */
export interface HostedTopicsOwner {
  /**
   * `held` is authoritative for every topic that did not change here after
   * the counter read `since` (TopicLocks). Returns false when it left some
   * topic undecided, so that the next heartbeat asks for the list again.
   */
  reconcile(held: TopicClaim[], since: number): boolean;
}

/**
 * This peer's link to the indexer: registration (retried until the indexer is
 * reachable, and repeated whenever the indexer forgets us), heartbeats, the
 * lease they earn, topic claims and cached lookups.
 *
 * The lease: a reply to a registration or heartbeat sent at time t (on a
 * monotonic clock, which keeps running while the process is stopped) lets
 * this peer serve its topics until t + 95% of the lease the reply names.
 * The indexer evicts a peer only after the whole lease has passed since it
 * received its last heartbeat, so a peer that stalls, is partitioned away or
 * loses the indexer stops accepting publishes before its topics can be given
 * to another peer.
 */
@Injectable()
export class IndexerLink implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('IndexerLink');
  private readonly lookups = new LookupCache();
  private registered = false;
  /** While the indexer cannot be reached: 50-100 ms doubling to 1-2 s. */
  private readonly retry = new Backoff({ initialMs: 100, maxMs: 2_000 });
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** performance.now() until which this peer may serve its topics. */
  private leaseDeadline = -Infinity;
  /** The same deadline on the wall clock (Date.now()). */
  private leaseWallDeadline = -Infinity;
  private leaseWarned = false;
  /** The topicsVersion of the last list received; undefined asks for the list. */
  private knownVersion?: number;
  /** The indexer this peer was last registered with; a restarted one learns from it that it restarted. */
  private indexerId?: string;
  /** The counter reading of the newest request whose list was applied. */
  private reconciledSince = -1;
  private owner?: HostedTopicsOwner;

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly locks: TopicLocks,
    private readonly readiness: ServiceReadiness,
    @Inject(INDEXER_CLIENT) private readonly indexer: IndexerClient,
  ) {}

  /** Whether the indexer knows this peer, as of the last heartbeat (readiness). */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** Starts registering and, once registered, heartbeating. */
  start(): void {
    void this.tick();
  }

  setOwner(owner: HostedTopicsOwner): void {
    this.owner = owner;
  }

  /** Whether this peer may serve the topics it hosts now. */
  holdsLease(): boolean {
    return performance.now() < this.leaseDeadline && Date.now() < this.leaseWallDeadline;
  }

  async lookup(topic: string, fresh = false): Promise<LookupResult> {
    const cached = fresh ? undefined : this.lookups.get(topic);
    if (cached) return cached;
    const result = await this.indexer.lookup(topic);
    this.lookups.set(result);
    return result;
  }

  forget(topic: string): void {
    this.lookups.forget(topic);
  }

  /** Claims the name: a new epoch and incarnation, also when this peer held it already. */
  async claim(topic: string): Promise<ClaimResult> {
    this.lookups.forget(topic);
    return this.whileRegistered(() => this.indexer.claimTopic(topic, this.identity.peerId));
  }

  /** Releases the claim at `epoch`; a newer claim of the name is refused (STALE_EPOCH). */
  async release(topic: string, epoch: number): Promise<void> {
    this.lookups.forget(topic);
    await this.whileRegistered(() => this.indexer.releaseTopic(topic, this.identity.peerId, epoch));
  }

  /** The next heartbeat asks for the list of this peer's topics. */
  askForTopics(): void {
    this.knownVersion = undefined;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const registered = this.registered;
    // Unregistering frees our names at once: nothing is served after it.
    this.forgotten();
    if (!registered) return;
    try {
      await this.indexer.unregister(this.identity.peerId);
      this.logger.log('unregistered from the indexer');
    } catch (error) {
      this.logger.warn(`could not unregister: ${(error as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.indexer.close();
  }

  /** Runs `call`, registering first if the indexer says it does not know us. */
  private async whileRegistered<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof PubSubError) || error.code !== ErrorCodes.UnknownPeer) throw error;
      this.forgotten();
      await this.register();
      return call();
    }
  }

  private async register(): Promise<void> {
    const hosted = this.store.topicsWithRole('hosted').map((topic) => {
      const { epoch, incarnation } = this.store.get(topic)!;
      return { topic, epoch, incarnation };
    });
    const sentAt = performance.now();
    const sentAtWall = Date.now();
    const since = this.locks.tick();
    const result = await this.indexer.register(
      this.identity.host,
      this.identity.port,
      hosted,
      this.identity.opsPort,
      this.indexerId,
    );
    this.indexerId = result.indexerId;
    if (!this.registered) {
      this.logger.log(
        `registered with the indexer at ${this.indexer.address} as ${result.peerId} (${hosted.length} hosted topic(s), lease ${result.leaseMs} ms)`,
        { peer: result.peerId },
      );
    }
    this.registered = true;
    this.readiness.update({ registered: true, peerId: result.peerId });
    this.knownVersion = result.topicsVersion;
    this.apply(result.topics, since);
    this.renew(sentAt, sentAtWall, result.leaseMs);
  }

  private async heartbeat(): Promise<void> {
    const sentAt = performance.now();
    const sentAtWall = Date.now();
    const since = this.locks.tick();
    const result = await this.indexer.heartbeat(this.identity.peerId, this.knownVersion);
    if (result.topics) {
      this.knownVersion = result.topicsVersion;
      this.apply(result.topics, since);
    }
    this.renew(sentAt, sentAtWall, result.leaseMs);
  }

  /**
   * Hands the indexer's list to the owner before the lease is renewed, so a
   * topic given to another peer stops being served before anything else is.
   */
  private apply(held: TopicClaim[], since: number): void {
    if (!this.owner) return;
    // A reply overtaken by a newer one says less than what was applied already.
    if (since < this.reconciledSince || !this.owner.reconcile(held, since)) {
      this.askForTopics();
      return;
    }
    this.reconciledSince = since;
    this.locks.forgetBefore(since);
  }

  private renew(sentAt: number, sentAtWall: number, leaseMs: number): void {
    const usable = leaseMs * (1 - LEASE_DRIFT_MARGIN);
    this.leaseDeadline = Math.max(this.leaseDeadline, sentAt + usable);
    this.leaseWallDeadline = Math.max(this.leaseWallDeadline, sentAtWall + usable);
    if (!this.leaseWarned && this.config.heartbeatIntervalMs * 3 > leaseMs) {
      this.leaseWarned = true;
      this.logger.warn(
        `heartbeats every ${this.config.heartbeatIntervalMs} ms leave little of the indexer's ${leaseMs} ms lease: a late heartbeat stops this peer serving its topics`,
      );
    }
  }

  /** The indexer no longer knows us: our names may be anyone's, so none is served until registered. */
  private forgotten(): void {
    this.registered = false;
    this.leaseDeadline = -Infinity;
    this.leaseWallDeadline = -Infinity;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delayMs = this.config.heartbeatIntervalMs;
    try {
      if (this.registered) {
        await this.heartbeat();
      } else {
        await this.register();
      }
      this.retry.reset();
    } catch (error) {
      const code = error instanceof PubSubError ? error.code : undefined;
      if (code === ErrorCodes.UnknownPeer) {
        this.logger.warn('the indexer no longer knows this peer; registering again');
        this.forgotten();
        delayMs = 0;
      } else {
        if (this.registered || this.retry.attempts === 0) {
          this.logger.warn(`indexer unreachable: ${(error as Error).message}; retrying`);
        }
        this.registered = false;
        delayMs = this.retry.next();
      }
      this.readiness.update({ registered: false });
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }
}
