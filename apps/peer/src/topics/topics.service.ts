import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';
import { Backoff, sleep } from '@p2p-pubsub/client';
import {
  ClaimResult,
  ErrorCodes,
  ForbiddenError,
  NotOwnerError,
  ON_BEHALF_OF,
  PayloadTooLargeError,
  PeerInternalPatterns,
  PeerTopicsResult,
  PeerUnavailableError,
  Principal,
  PubSubError,
  PublishResult,
  StaleEpochError,
  TopicClaim,
  TopicExistsError,
  TopicNotFoundError,
  TopicResult,
  isUnsent,
} from '@p2p-pubsub/protocol';
import { ForwardedPublishDto, TopicEpochDto } from '@p2p-pubsub/protocol/dto';
import { Security } from '@p2p-pubsub/server';
import { ConsumersService } from '../consumers/consumers.service';
import { DeliveryService } from '../delivery/delivery.service';
import { HostedTopicsOwner, IndexerLink } from '../links/indexer-link';
import { PeerLinks } from '../links/peer-links';
import { LogStore, StoredTopic } from '../log/log-store';
import { TopicLocks } from '../log/topic-locks';
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
 *
 * Fencing: a topic is hosted under a claim (epoch) at the indexer, and served
 * only while this peer holds its lease there (IndexerLink). A request
 * forwarded here names the epoch its sender looked up; another epoch, or no
 * lease, is refused before anything is stored. When the indexer's list shows
 * a topic held by someone else, this peer stops hosting it at once and keeps
 * its log aside (retired/), since it may hold acknowledged messages.
 */
@Injectable()
export class TopicsService implements OnModuleInit, BeforeApplicationShutdown, HostedTopicsOwner {
  private readonly logger = new Logger('Topics');
  /** Hosted topics being released at the indexer: served no more. */
  private readonly releasing = new Set<string>();
  /** Logs being moved under retired/: the store stays open until they are. */
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly locks: TopicLocks,
    private readonly indexer: IndexerLink,
    private readonly links: PeerLinks,
    private readonly delivery: DeliveryService,
    private readonly subscriptions: SubscriptionsService,
    private readonly consumers: ConsumersService,
    private readonly stats: TopicStats,
    private readonly security: Security,
  ) {}

  onModuleInit(): void {
    this.indexer.setOwner(this);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.retiring);
  }

  /** `caller` is the principal making the request; undefined with security off. */
  async create(topic: string, caller?: Principal): Promise<TopicResult> {
    await this.locks.run(topic, async () => {
      if (this.store.get(topic)?.role === 'hosted') {
        throw new TopicExistsError(topic, this.identity.peerId);
      }
      this.store.assertRoomForTopic();
      const claim = await this.indexer.claim(topic);
      await this.host(claim, caller);
      this.logger.log(
        `topic '${topic}' created (epoch ${claim.epoch})${caller ? ` by ${caller.id}` : ''}`,
        { topic },
      );
    });
    return { status: 'success', message: `Topic '${topic}' created`, topic };
  }

  async publish(topic: string, message: string, caller?: Principal): Promise<PublishResult> {
    const sizeBytes = this.checkSize(message);
    const stored = this.store.get(topic);
    if (stored?.role === 'hosted') return this.append(topic, stored, message, sizeBytes);
    return this.forwardToHost(
      topic,
      PeerInternalPatterns.Publish,
      { topic, message },
      sizeBytes,
      caller,
    );
  }

  /** A publish another peer forwarded: stored only under the claim it looked up. */
  async publishForwarded(dto: ForwardedPublishDto): Promise<PublishResult> {
    const sizeBytes = this.checkSize(dto.message);
    const stored = this.hostedAt(dto.topic, dto.epoch);
    return this.append(dto.topic, stored, dto.message, sizeBytes);
  }

  async delete(topic: string, caller?: Principal): Promise<TopicResult> {
    if (this.store.get(topic)?.role !== 'hosted') {
      return this.forwardToHost(topic, PeerInternalPatterns.DeleteTopic, { topic }, 0, caller);
    }
    return this.deleteHosted(topic, undefined, caller);
  }

  /** A delete another peer forwarded: done only under the claim it looked up. */
  async deleteForwarded(dto: TopicEpochDto, caller?: Principal): Promise<TopicResult> {
    this.hostedAt(dto.topic, dto.epoch);
    return this.deleteHosted(dto.topic, dto.epoch, caller);
  }

  list(): PeerTopicsResult {
    const hosted = this.store.topicsWithRole('hosted').map((topic) => {
      const stored = this.store.get(topic)!;
      return {
        topic,
        epoch: stored.epoch,
        incarnation: stored.incarnation,
        nextOffset: stored.log.nextOffset,
        subscribers: this.delivery.subscribersOf(topic),
      };
    });
    return {
      status: 'success',
      message: `${hosted.length} hosted topic(s)`,
      peerId: this.identity.peerId,
      hosted,
      subscribed: this.subscriptions.subscriptions(),
    };
  }

  /**
   * The indexer's list of the topics it holds for this peer. A hosted topic
   * missing from it, or held under another claim, was given to another peer
   * (this peer was evicted, or lost to a later claim): it stops being served
   * now, before the lease the same reply brings takes effect. A topic held
   * for this peer that it does not have (its data directory was lost) is
   * created again as a new incarnation. Topics that changed here since the
   * request went out are left for the next list.
   */
  reconcile(held: TopicClaim[], since: number): boolean {
    const claims = new Map(held.map((claim) => [claim.topic, claim]));
    let complete = true;
    for (const topic of this.store.topicsWithRole('hosted')) {
      if (this.locks.changedSince(topic, since)) {
        complete = false;
        continue;
      }
      const stored = this.store.get(topic)!;
      const claim = claims.get(topic);
      if (claim?.epoch !== stored.epoch || claim.incarnation !== stored.incarnation) {
        this.retire(topic, stored, claim);
      }
    }
    for (const claim of held) {
      if (this.store.get(claim.topic)?.role === 'hosted') continue;
      if (this.locks.changedSince(claim.topic, since)) {
        complete = false;
        continue;
      }
      void this.recreate(claim);
    }
    return complete;
  }

  /**
   * Host side of publish. The lease is checked before the append and again
   * after it: a peer stopped or cut off long enough in between may have lost
   * the name, and then cannot say whether the message counts.
   */
  private async append(
    topic: string,
    stored: StoredTopic,
    message: string,
    sizeBytes: number,
  ): Promise<PublishResult> {
    if (!this.indexer.holdsLease() || this.releasing.has(topic)) {
      throw new NotOwnerError(
        topic,
        this.identity.peerId,
        'its lease at the indexer has lapsed or the topic is being deleted; nothing was stored',
      );
    }
    const startedAt = this.stats.now();
    const { offset } = await this.store.append(topic, stored.log, message);
    if (!this.indexer.holdsLease() || this.store.get(topic) !== stored) {
      throw new PeerUnavailableError(
        this.identity.peerId,
        `its lease on '${topic}' lapsed while the message was being stored: it may or may not be kept`,
      );
    }
    this.stats.published(topic, sizeBytes, startedAt);
    return {
      status: 'success',
      message: `Message published on topic '${topic}'`,
      topic,
      offset,
    };
  }

  private async deleteHosted(
    topic: string,
    epoch: number | undefined,
    caller: Principal | undefined,
  ): Promise<TopicResult> {
    const outcome = await this.locks.run(topic, async () => {
      const stored = this.store.get(topic);
      if (stored?.role !== 'hosted' || (epoch !== undefined && stored.epoch !== epoch)) {
        return 'moved';
      }
      if (caller) this.mayDelete(topic, caller);
      this.releasing.add(topic);
      try {
        await this.indexer.release(topic, stored.epoch);
      } catch (error) {
        if (!(error instanceof PubSubError)) throw error;
        if (error.code === ErrorCodes.NotOwner || error.code === ErrorCodes.StaleEpoch) {
          // Another peer holds the name now: this log is kept aside, and the
          // delete goes to the topic that lives on.
          this.retire(topic, stored, undefined);
          return 'moved';
        }
        // Anything but "the indexer holds no such name" leaves the topic as it was.
        if (error.code !== ErrorCodes.TopicNotFound) throw error;
        this.logger.warn(`the indexer holds no claim of '${topic}'; deleting it locally`);
      } finally {
        this.releasing.delete(topic);
      }
      if (this.store.get(topic) !== stored) return 'moved';
      this.delivery.topicDeleted(topic, stored.epoch);
      await this.store.drop(topic);
      this.logger.log(`topic '${topic}' deleted`, { topic });
      return 'deleted';
    });
    if (outcome === 'moved') {
      if (epoch !== undefined) throw new NotOwnerError(topic, this.identity.peerId);
      return this.forwardToHost(topic, PeerInternalPatterns.DeleteTopic, { topic }, 0, caller);
    }
    return { status: 'success', message: `Topic '${topic}' deleted`, topic };
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

  /**
   * Starts hosting the topic under `claim`, in place of a replica of it if
   * there is one, and records who created it (permissions). If any of it
   * fails (a full disk), nothing of the topic is left here.
   */
  private async host(claim: ClaimResult, caller?: Principal): Promise<void> {
    const { topic } = claim;
    try {
      if (this.store.get(topic)?.role === 'replica') {
        // A replica of an incarnation hosted elsewhere, whose host went away.
        await this.store.replace(
          topic,
          'hosted',
          claim,
          undefined,
          this.consumers.resetsOnReplace(topic),
        );
      } else {
        await this.store.open(topic, 'hosted', undefined, claim);
      }
      if (caller) await this.recordCreator(topic, caller);
    } catch (error) {
      // A name this peer cannot host is not left held for it.
      await this.indexer
        .release(topic, claim.epoch)
        .catch((release: Error) =>
          this.logger.warn(
            `could not release '${topic}' after failing to host it: ${release.message}`,
          ),
        );
      throw error;
    }
  }

  /** Stops hosting a topic the indexer holds elsewhere; its log is kept under retired/. */
  private retire(topic: string, stored: StoredTopic, claim: TopicClaim | undefined): void {
    this.delivery.topicRetired(topic);
    this.indexer.forget(topic);
    const now = claim
      ? `the indexer holds it under a later claim (epoch ${claim.epoch})`
      : 'the indexer no longer holds it for this peer (its lease lapsed and the name was released or given to another peer)';
    const retiring = this.store
      .retire(topic)
      .then((retired) => {
        if (!retired) return;
        this.logger.warn(
          `stopped hosting '${topic}' (epoch ${stored.epoch}, incarnation ${stored.incarnation}): ${now}. ` +
            `Its log, offsets ${retired.firstOffset} to ${retired.nextOffset - 1}, is kept in ${retired.path}`,
        );
      })
      .catch((error: Error) =>
        this.logger.error(
          `stopped hosting '${topic}' (${now}); keeping its log failed: ${error.message}`,
        ),
      )
      .finally(() => this.retiring.delete(retiring));
    this.retiring.add(retiring);
  }

  /** A topic the indexer holds for this peer, which has no log of it: hosted again, anew. */
  private async recreate(held: TopicClaim): Promise<void> {
    const { topic } = held;
    try {
      await this.locks.run(topic, async () => {
        if (this.store.get(topic)?.role === 'hosted') return;
        const claim = await this.indexer.claim(topic);
        await this.host(claim);
        this.logger.warn(
          `the indexer holds '${topic}' for this peer (epoch ${held.epoch}), but its log is not here (data directory lost or replaced?): ` +
            `created again as incarnation ${claim.incarnation} (epoch ${claim.epoch}); offsets start again at ${this.store.get(topic)?.log.nextOffset}, and subscribers start new replicas`,
        );
      });
    } catch (error) {
      this.logger.warn(`could not create '${topic}' again: ${(error as Error).message}`);
      this.indexer.askForTopics();
    }
  }

  /** The message's size in UTF-8 bytes, within the limit. */
  private checkSize(message: string): number {
    const sizeBytes = Buffer.byteLength(message, 'utf8');
    if (sizeBytes > this.config.maxMessageBytes) {
      throw new PayloadTooLargeError(sizeBytes, this.config.maxMessageBytes);
    }
    return sizeBytes;
  }

  /** The topic as hosted here under `epoch`; anything else is a definite refusal. */
  private hostedAt(topic: string, epoch: number): StoredTopic {
    const stored = this.store.get(topic);
    if (stored?.role !== 'hosted') throw new NotOwnerError(topic, this.identity.peerId);
    if (stored.epoch !== epoch) throw new StaleEpochError(topic, epoch, stored.epoch);
    return stored;
  }

  /**
   * Sends a request to the topic's host, naming the epoch it was looked up
   * at. A refusal that says the request was certainly not applied (the
   * connection was refused; the host does not hold that claim, or its lease)
   * is retried with backoff, looking the host up again each time, for up to
   * REQUEST_TIMEOUT_MS. Once a request may have reached a host (no reply,
   * the connection dropped), it is never sent again: that could apply it
   * twice. The caller then gets PEER_UNAVAILABLE: outcome unknown.
   */
  private async forwardToHost<T>(
    topic: string,
    pattern: string,
    data: object,
    weight: number,
    caller: Principal | undefined,
  ): Promise<T> {
    const metadata = caller ? { [ON_BEHALF_OF]: caller.id } : undefined;
    const deadline = performance.now() + this.config.requestTimeoutMs;
    const retry = new Backoff({ initialMs: 50, maxMs: 500 });
    for (let fresh = false; ; fresh = true) {
      const host = await this.lookupHost(topic, fresh);
      try {
        return await this.links
          .to(host.host, host.port)
          .request<T>(pattern, { ...data, epoch: host.epoch }, weight, metadata);
      } catch (error) {
        this.indexer.forget(topic);
        if (!(error instanceof PubSubError) || !certainlyNotApplied(error)) throw error;
        const delayMs = retry.next();
        if (performance.now() + delayMs >= deadline) throw error;
        await sleep(delayMs);
      }
    }
  }

  private async lookupHost(topic: string, fresh: boolean) {
    let host;
    try {
      host = await this.indexer.lookup(topic, fresh);
    } catch (error) {
      // Nothing went to any host: the request certainly was not applied.
      if (error instanceof PubSubError && error.code === ErrorCodes.PeerUnavailable)
        throw new PeerUnavailableError('indexer', error.message, { unsent: true });
      throw error;
    }
    // The indexer names this peer, which has no log of it (it is being created again).
    if (host.peerId === this.identity.peerId) throw new TopicNotFoundError(topic);
    return host;
  }
}

/** A refusal after which sending the request again cannot apply it twice. */
function certainlyNotApplied(error: PubSubError): boolean {
  return (
    isUnsent(error) || error.code === ErrorCodes.NotOwner || error.code === ErrorCodes.StaleEpoch
  );
}
