import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Backoff, IndexerClient } from '@p2p-pubsub/client';
import { ErrorCodes, LookupResult, PubSubError } from '@p2p-pubsub/protocol';
import { ServiceReadiness } from '@p2p-pubsub/server';
import { LogStore } from '../log/log-store';
import { PeerConfig } from '../peer.config';
import { PeerIdentity } from '../peer-identity';
import { INDEXER_CLIENT } from './links.tokens';
import { LookupCache } from './lookup-cache';

/**
 * This peer's link to the indexer: registration (retried until the indexer is
 * reachable, and repeated whenever the indexer forgets us), heartbeats,
 * topic claims and cached lookups.
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

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    @Inject(INDEXER_CLIENT) private readonly indexer: IndexerClient,
    private readonly readiness: ServiceReadiness,
  ) {}

  /** Whether the indexer knows this peer, as of the last heartbeat (readiness). */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** Starts registering and, once registered, heartbeating. */
  start(): void {
    void this.tick();
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

  async claim(topic: string): Promise<void> {
    await this.whileRegistered(() => this.indexer.claimTopic(topic, this.identity.peerId));
  }

  async release(topic: string): Promise<void> {
    this.lookups.forget(topic);
    await this.whileRegistered(() => this.indexer.releaseTopic(topic, this.identity.peerId));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.registered) return;
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
      await this.register();
      return call();
    }
  }

  private async register(): Promise<void> {
    const hosted = this.store.topicsWithRole('hosted');
    const result = await this.indexer.register(
      this.identity.host,
      this.identity.port,
      hosted,
      this.identity.opsPort,
    );
    if (!this.registered) {
      this.logger.log(
        `registered with the indexer at ${this.indexer.address} as ${result.peerId} (${hosted.length} hosted topic(s))`,
        { peer: result.peerId },
      );
    }
    const rejected = hosted.filter((topic) => !result.topics.includes(topic));
    if (rejected.length > 0) {
      this.logger.warn(`the indexer gave these topics to other peers: ${rejected.join(', ')}`);
    }
    this.registered = true;
    this.readiness.update({ registered: true, peerId: result.peerId });
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let delayMs = this.config.heartbeatIntervalMs;
    try {
      if (this.registered) {
        await this.indexer.heartbeat(this.identity.peerId);
      } else {
        await this.register();
      }
      this.retry.reset();
    } catch (error) {
      const code = error instanceof PubSubError ? error.code : undefined;
      if (code === ErrorCodes.UnknownPeer) {
        this.logger.warn('the indexer no longer knows this peer; registering again');
        this.registered = false;
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
