import { Inject, Injectable, Logger } from '@nestjs/common';
import { Backoff, sleep } from '@p2p-pubsub/client';
import {
  ErrorCodes,
  ForbiddenError,
  ON_BEHALF_OF,
  PayloadTooLargeError,
  PeerPatterns,
  PeerTopicsResult,
  Principal,
  PubSubError,
  isUnsent,
  PublishResult,
  TopicExistsError,
  TopicNotFoundError,
  TopicResult,
} from '@p2p-pubsub/protocol';
import { Security } from '@p2p-pubsub/server';
import { DeliveryService } from '../delivery/delivery.service';
import { IndexerLink } from '../links/indexer-link';
import { PeerLinks } from '../links/peer-links';
import { LogStore } from '../log/log-store';
import { TopicStats } from '../ops/topic-stats';
import { PeerConfig } from '../peer.config';
import { PeerIdentity } from '../peer-identity';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';

/** The per-topic journal that remembers who created a hosted topic (security on). */
const CREATOR_JOURNAL = 'creator';

/**
 * Hosting: creating, publishing to and deleting topics. A request for a
 * topic hosted elsewhere is forwarded to its host, found through the indexer,
 * naming the caller (with security on) so the host can check it again.
 */
@Injectable()
export class TopicsService {
  private readonly logger = new Logger('Topics');

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly indexer: IndexerLink,
    private readonly links: PeerLinks,
    private readonly delivery: DeliveryService,
    private readonly subscriptions: SubscriptionsService,
    private readonly stats: TopicStats,
    private readonly security: Security,
  ) {}

  /** `caller` is the principal making the request; undefined with security off. */
  async create(topic: string, caller?: Principal): Promise<TopicResult> {
    if (this.store.get(topic)?.role === 'hosted') {
      throw new TopicExistsError(topic, this.identity.peerId);
    }
    this.store.assertRoomForTopic();
    await this.indexer.claim(topic);
    try {
      // A replica left from a host that vanished without telling us is stale.
      await this.subscriptions.topicDeleted(topic);
      await this.store.open(topic, 'hosted');
      if (caller) await this.recordCreator(topic, caller);
    } catch (error) {
      // Nothing of the topic is left here (a full disk): the name must not stay claimed by us.
      await this.indexer
        .release(topic)
        .catch((releaseError: Error) =>
          this.logger.warn(
            `could not release '${topic}' after a failed create: ${releaseError.message}`,
            { topic },
          ),
        );
      throw error;
    }
    this.logger.log(`topic '${topic}' created${caller ? ` by ${caller.id}` : ''}`, { topic });
    return { status: 'success', message: `Topic '${topic}' created`, topic };
  }

  async publish(topic: string, message: string, caller?: Principal): Promise<PublishResult> {
    const sizeBytes = Buffer.byteLength(message, 'utf8');
    if (sizeBytes > this.config.maxMessageBytes) {
      throw new PayloadTooLargeError(sizeBytes, this.config.maxMessageBytes);
    }
    const stored = this.store.get(topic);
    if (stored?.role === 'hosted') {
      const startedAt = this.stats.now();
      const { offset } = await this.store.append(topic, stored.log, message);
      this.stats.published(topic, sizeBytes, startedAt);
      return {
        status: 'success',
        message: `Message published on topic '${topic}'`,
        topic,
        offset,
      };
    }
    return this.forwardToHost(topic, PeerPatterns.Publish, { topic, message }, sizeBytes, caller);
  }

  async delete(topic: string, caller?: Principal): Promise<TopicResult> {
    if (this.store.get(topic)?.role !== 'hosted') {
      return this.forwardToHost(topic, PeerPatterns.DeleteTopic, { topic }, 0, caller);
    }
    if (caller) this.mayDelete(topic, caller);
    try {
      await this.indexer.release(topic);
    } catch (error) {
      // An indexer that lost or reassigned the name must not keep us hosting it.
      if (!(error instanceof PubSubError) || error.code === ErrorCodes.PeerUnavailable) throw error;
      this.logger.warn(
        `indexer refused to release '${topic}' (${error.message}); deleting locally`,
      );
    }
    this.delivery.topicDeleted(topic);
    await this.store.drop(topic);
    this.logger.log(`topic '${topic}' deleted`, { topic });
    return { status: 'success', message: `Topic '${topic}' deleted`, topic };
  }

  /**
   * With security on, a topic is deleted only by the principal that created
   * it or an admin. A topic created with security off has no creator: only
   * an admin may delete it.
   */
  private mayDelete(topic: string, caller: Principal): void {
    if (this.security.permissions.isAdmin(caller.id)) return;
    const creator = this.store.journal<string>(topic, CREATOR_JOURNAL).get('creator');
    if (creator === caller.id) return;
    throw new ForbiddenError(
      `${caller.id} may not delete topic '${topic}': only its creator (${creator ?? 'unknown'}) or an admin may`,
    );
  }

  /** Who created the topic (permissions); a topic whose creator could not be written is removed. */
  private async recordCreator(topic: string, caller: Principal): Promise<void> {
    try {
      await this.store.journal<string>(topic, CREATOR_JOURNAL).set('creator', caller.id);
    } catch (error) {
      await this.store.drop(topic);
      throw error;
    }
  }

  list(): PeerTopicsResult {
    const hosted = this.store.topicsWithRole('hosted').map((topic) => ({
      topic,
      nextOffset: this.store.get(topic)?.log.nextOffset ?? 0,
      subscribers: this.delivery.subscribersOf(topic),
    }));
    return {
      status: 'success',
      message: `${hosted.length} hosted topic(s)`,
      peerId: this.identity.peerId,
      hosted,
      subscribed: this.subscriptions.subscriptions(),
    };
  }

  /**
   * Sends a request to the topic's host. A cached host that has gone away or
   * no longer has the topic is looked up once more before giving up. A host
   * that refuses connections is down or restarting: the request certainly
   * never reached it, so it is retried with backoff (looking the host up
   * again each time) for up to REQUEST_TIMEOUT_MS, then PEER_UNAVAILABLE.
   */
  private async forwardToHost<T>(
    topic: string,
    pattern: string,
    data: object,
    weight: number,
    caller: Principal | undefined,
  ): Promise<T> {
    const metadata = caller ? { [ON_BEHALF_OF]: caller.id } : undefined;
    const deadline = Date.now() + this.config.requestTimeoutMs;
    const retry = new Backoff({ initialMs: 50, maxMs: 500 });
    let host = await this.indexer.lookup(topic);
    for (let attempt = 0; ; attempt++) {
      if (host.peerId === this.identity.peerId) throw new TopicNotFoundError(topic);
      try {
        return await this.links
          .to(host.host, host.port)
          .request<T>(pattern, data, weight, metadata);
      } catch (error) {
        if (!(error instanceof PubSubError)) throw error;
        const restarting = isUnsent(error);
        if (restarting) {
          const delayMs = retry.next();
          if (Date.now() + delayMs >= deadline) throw error;
          await sleep(delayMs);
        } else {
          const stale =
            error.code === ErrorCodes.PeerUnavailable || error.code === ErrorCodes.TopicNotFound;
          if (!stale || attempt > 0) throw error;
        }
        this.indexer.forget(topic);
        const previous = host.peerId;
        host = await this.indexer.lookup(topic, true);
        // A request that may have reached its host is only sent again elsewhere.
        if (!restarting && host.peerId === previous && error.code === ErrorCodes.PeerUnavailable)
          throw error;
      }
    }
  }
}
