import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import {
  AddSubscriberResult,
  DeliverResult,
  ErrorCodes,
  LookupResult,
  NotSubscribedError,
  PeerAddress,
  PeerInternalPatterns,
  PubSubError,
  StaleEpochError,
  StartPosition,
  SubscribeResult,
  TopicNotFoundError,
  TopicResult,
} from '@p2p-pubsub/protocol';
import { DeliverDto } from '@p2p-pubsub/protocol/dto';
import { ConsumersService } from '../consumers/consumers.service';
import { IndexerLink } from '../links/indexer-link';
import { PeerLinks } from '../links/peer-links';
import { LogStore, StoredTopic } from '../log/log-store';
import { TopicLocks } from '../log/topic-locks';
import { PeerConfig } from '../peer.config';
import { PeerIdentity } from '../peer-identity';

/**
 * Outgoing subscriptions: this peer asking hosts for their topics, and
 * keeping what they push in replica logs for local consumers. A replica and
 * its host's address live in the log store, so both survive a restart; the
 * host keeps our cursor and resumes pushing on its own.
 *
 * A replica belongs to one incarnation of its topic (one claim at the
 * indexer). Every SUBSCRIPTION_CHECK_MS each replica is checked against the
 * indexer: the same incarnation is confirmed with its host (which resumes a
 * cursor it lost); a new one (the host lost its data and created the topic
 * again, or another peer took the name) gets a new replica, read from its
 * start, and the old replica's consumers are told by their next pull. Two
 * incarnations are never mixed in one log.
 */
@Injectable()
export class SubscriptionsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Subscriptions');
  private checkTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Topics whose last check could not reach the host or the indexer: said once. */
  private readonly unreachable = new Set<string>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly locks: TopicLocks,
    private readonly indexer: IndexerLink,
    private readonly links: PeerLinks,
    private readonly consumers: ConsumersService,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduleChecks();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.checkTimer);
  }

  /**
   * Subscribes, or confirms an existing subscription with the host: a host
   * that lost its cursor for us is asked to resume where our replica ends
   * rather than at `from`.
   */
  async subscribe(topic: string, from: StartPosition = 'latest'): Promise<SubscribeResult> {
    const hosted = this.store.get(topic);
    if (hosted?.role === 'hosted') {
      return this.subscribed(topic, this.identity.peerId, hosted.log.firstOffset, hosted);
    }
    return this.locks.run(topic, async () => {
      const found = await this.indexer.lookup(topic, true);
      if (found.peerId === this.identity.peerId) throw new TopicNotFoundError(topic);
      const existing = this.replica(topic);
      // Epochs only move forward: an index behind our replica (it restarted
      // and heard from a host that lost the name first) is not followed.
      if (existing && found.epoch < existing.epoch)
        throw new StaleEpochError(topic, found.epoch, existing.epoch);
      if (existing && isIncarnationOf(existing, found)) {
        const start = existing.log.nextOffset > 0 ? existing.log.nextOffset : from;
        const reply = await this.addSubscriber(found, start);
        return this.subscribed(topic, found.peerId, reply.startOffset, existing);
      }
      // The replica exists before the host is asked, so a delivery that races
      // the reply finds somewhere to land.
      const stored = existing
        ? await this.replaceReplica(topic, existing, found)
        : await this.store.open(topic, 'replica', addressOf(found), found);
      try {
        const reply = await this.addSubscriber(found, from);
        this.logger.log(
          `subscribed to '${topic}' on ${found.peerId} (incarnation ${found.incarnation}) from offset ${reply.startOffset}`,
          { topic, peer: found.peerId, offset: reply.startOffset },
        );
        return this.subscribed(topic, found.peerId, reply.startOffset, stored);
      } catch (error) {
        // A replaced replica stays: the one it replaced was of a topic gone from its host.
        if (!existing) await this.store.drop(topic);
        throw error;
      }
    });
  }

  async unsubscribe(topic: string): Promise<TopicResult> {
    return this.locks.run(topic, async () => {
      const stored = this.replica(topic);
      if (!stored?.host) throw new NotSubscribedError(topic);
      const { host } = stored;
      await this.store.drop(topic);
      // Best effort: a host that never hears this drops us on its next delivery.
      await this.links
        .to(host.host, host.port)
        .request(PeerInternalPatterns.RemoveSubscriber, { topic, peerId: this.identity.peerId })
        .catch((error: Error) =>
          this.logger.warn(`could not tell ${host.peerId} about unsubscribe: ${error.message}`),
        );
      return { status: 'success', message: `Unsubscribed from topic '${topic}'`, topic };
    });
  }

  /**
   * A batch pushed by the host: stored by offset, duplicates dropped, and
   * acknowledged only once it is in the replica log. A batch of another
   * incarnation than the replica's is refused: an older one comes from a
   * host that lost the name; a newer one means ours is out of date, which a
   * check settles now.
   */
  async receive(dto: DeliverDto): Promise<DeliverResult> {
    const stored = this.replica(dto.topic);
    if (!stored) throw new NotSubscribedError(dto.topic);
    if (dto.epoch !== stored.epoch || dto.incarnation !== stored.incarnation) {
      if (dto.epoch > stored.epoch) void this.check(dto.topic);
      throw new StaleEpochError(dto.topic, dto.epoch, stored.epoch);
    }
    await this.store.appendReplica(dto.topic, stored.log, dto.records);
    return {
      status: 'success',
      message: `Received ${dto.records.length} message(s) on topic '${dto.topic}'`,
      topic: dto.topic,
      ackedOffset: stored.log.nextOffset - 1,
    };
  }

  /** The host deleted the topic; a notice about an incarnation we no longer follow is ignored. */
  async topicDeleted(topic: string, epoch: number): Promise<TopicResult> {
    await this.locks.run(topic, async () => {
      const stored = this.replica(topic);
      if (stored && stored.epoch === epoch) {
        await this.store.drop(topic);
        this.logger.log(`topic '${topic}' was deleted by its host; forgotten`);
      }
    });
    return { status: 'success', message: `Topic '${topic}' forgotten`, topic };
  }

  subscriptions(): Array<{
    topic: string;
    hostPeer: string;
    epoch: number;
    incarnation: string;
    nextOffset: number;
  }> {
    return this.store.topicsWithRole('replica').map((topic) => {
      const stored = this.store.get(topic)!;
      return {
        topic,
        hostPeer: stored.host?.peerId ?? '',
        epoch: stored.epoch,
        incarnation: stored.incarnation,
        nextOffset: stored.log.nextOffset,
      };
    });
  }

  /**
   * Compares the replica of `topic` with what the indexer says now. The same
   * incarnation: confirmed with its host (idempotent; a host that lost our
   * cursor starts one where the replica ends). Another one: a new replica,
   * from the start of the new incarnation. No host at all: the replica is
   * kept for its consumers, and checked again later.
   */
  async check(topic: string): Promise<void> {
    await this.locks.run(topic, async () => {
      const existing = this.replica(topic);
      if (!existing) return;
      try {
        const found = await this.indexer.lookup(topic, true);
        if (found.peerId === this.identity.peerId) return;
        if (found.epoch < existing.epoch)
          throw new StaleEpochError(topic, found.epoch, existing.epoch);
        if (isIncarnationOf(existing, found)) {
          await this.addSubscriber(found, existing.log.nextOffset);
        } else {
          await this.replaceReplica(topic, existing, found);
          await this.addSubscriber(found, 'earliest');
        }
        this.unreachable.delete(topic);
      } catch (error) {
        if (this.unreachable.has(topic)) return;
        this.unreachable.add(topic);
        const gone = error instanceof PubSubError && error.code === ErrorCodes.TopicNotFound;
        this.logger.warn(
          gone
            ? `'${topic}' has no host at the indexer now; keeping the replica (incarnation ${existing.incarnation}) and checking again`
            : `could not check '${topic}' with its host: ${(error as Error).message}; checking again`,
        );
      }
    });
  }

  /**
   * A new incarnation in place of the replica of an old one. Its consumers
   * will be told with their next pull; the old replica's files go.
   */
  private async replaceReplica(
    topic: string,
    existing: StoredTopic,
    found: LookupResult,
  ): Promise<StoredTopic> {
    const resets = this.consumers.resetsOnReplace(topic);
    this.logger.warn(
      `'${topic}' is a new incarnation ${found.incarnation} (epoch ${found.epoch}) on ${found.peerId}; ` +
        `the replica of incarnation ${existing.incarnation} (epoch ${existing.epoch}, from ${existing.host?.peerId}) ` +
        `is replaced and read again from the start; ${resets.size} consumer(s) will be told`,
    );
    return this.store.replace(topic, 'replica', found, addressOf(found), resets);
  }

  private addSubscriber(found: LookupResult, from: StartPosition): Promise<AddSubscriberResult> {
    return this.links
      .to(found.host, found.port)
      .request<AddSubscriberResult>(PeerInternalPatterns.AddSubscriber, {
        topic: found.topic,
        host: this.identity.host,
        port: this.identity.port,
        from,
        epoch: found.epoch,
      });
  }

  /** Checks every replica one after the other, then waits SUBSCRIPTION_CHECK_MS. */
  private scheduleChecks(): void {
    if (this.stopped) return;
    this.checkTimer = setTimeout(async () => {
      for (const topic of this.store.topicsWithRole('replica')) {
        if (this.stopped) return;
        await this.check(topic);
      }
      this.scheduleChecks();
    }, this.config.subscriptionCheckMs);
    this.checkTimer.unref();
  }

  private replica(topic: string): StoredTopic | undefined {
    const stored = this.store.get(topic);
    return stored?.role === 'replica' ? stored : undefined;
  }

  private subscribed(
    topic: string,
    hostPeer: string,
    startOffset: number,
    stored: StoredTopic,
  ): SubscribeResult {
    return {
      status: 'success',
      message: `Subscribed to topic '${topic}'`,
      topic,
      hostPeer,
      incarnation: stored.incarnation,
      startOffset,
    };
  }
}

function isIncarnationOf(stored: StoredTopic, found: LookupResult): boolean {
  return (
    stored.epoch === found.epoch &&
    stored.incarnation === found.incarnation &&
    stored.host?.peerId === found.peerId
  );
}

function addressOf(found: LookupResult): PeerAddress {
  return { peerId: found.peerId, host: found.host, port: found.port };
}
