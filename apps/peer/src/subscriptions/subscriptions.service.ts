import { Injectable, Logger } from '@nestjs/common';
import {
  AddSubscriberResult,
  DeliverResult,
  NotSubscribedError,
  PeerAddress,
  PeerInternalPatterns,
  StartPosition,
  SubscribeResult,
  TopicNotFoundError,
  TopicResult,
} from '@p2p-pubsub/protocol';
import { DeliverDto } from '@p2p-pubsub/protocol/dto';
import { IndexerLink } from '../links/indexer-link';
import { PeerLinks } from '../links/peer-links';
import { LogStore, StoredTopic } from '../log/log-store';
import { PeerIdentity } from '../peer-identity';

/**
 * Outgoing subscriptions: this peer asking hosts for their topics, and
 * keeping what they push in replica logs for local consumers. A replica and
 * its host's address live in the log store, so both survive a restart; the
 * host keeps our cursor and resumes pushing on its own.
 */
@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger('Subscriptions');

  constructor(
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly indexer: IndexerLink,
    private readonly links: PeerLinks,
  ) {}

  /**
   * Subscribes, or confirms an existing subscription with the host: a host
   * that lost its cursor for us (its data directory was replaced) is asked
   * to resume where our replica ends rather than at `from`.
   */
  async subscribe(topic: string, from: StartPosition = 'latest'): Promise<SubscribeResult> {
    const stored = this.store.get(topic);
    if (stored?.role === 'hosted') {
      return this.subscribed(topic, this.identity.peerId, stored.log.firstOffset);
    }
    const found = await this.indexer.lookup(topic, true);
    if (found.peerId === this.identity.peerId) throw new TopicNotFoundError(topic);
    const host: PeerAddress = { peerId: found.peerId, host: found.host, port: found.port };
    let existing = stored?.role === 'replica' ? stored : undefined;
    if (existing && existing.host?.peerId !== host.peerId) {
      // Another host means another log (the old host died and the name was
      // created again elsewhere): its offsets say nothing about the new one.
      this.logger.warn(
        `'${topic}' moved from ${existing.host?.peerId} to ${host.peerId}; starting a new replica`,
      );
      await this.store.drop(topic);
      existing = undefined;
    }
    // The replica exists before the host is asked, so a delivery that races
    // the reply finds somewhere to land.
    if (!existing) await this.store.open(topic, 'replica', host);
    const start = existing && existing.log.nextOffset > 0 ? existing.log.nextOffset : from;
    try {
      const reply = await this.links
        .to(host.host, host.port)
        .request<AddSubscriberResult>(PeerInternalPatterns.AddSubscriber, {
          topic,
          host: this.identity.host,
          port: this.identity.port,
          from: start,
        });
      if (!existing)
        this.logger.log(
          `subscribed to '${topic}' on ${host.peerId} from offset ${reply.startOffset}`,
          { topic, peer: host.peerId, offset: reply.startOffset },
        );
      return this.subscribed(topic, host.peerId, reply.startOffset);
    } catch (error) {
      if (!existing) await this.store.drop(topic);
      throw error;
    }
  }

  async unsubscribe(topic: string): Promise<TopicResult> {
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
  }

  /**
   * A batch pushed by the host: stored by offset, duplicates dropped, and
   * acknowledged only once it is in the replica log.
   */
  async receive(dto: DeliverDto): Promise<DeliverResult> {
    const stored = this.replica(dto.topic);
    if (!stored) throw new NotSubscribedError(dto.topic);
    await this.store.appendReplica(dto.topic, stored.log, dto.records);
    return {
      status: 'success',
      message: `Received ${dto.records.length} message(s) on topic '${dto.topic}'`,
      topic: dto.topic,
      ackedOffset: stored.log.nextOffset - 1,
    };
  }

  async topicDeleted(topic: string): Promise<TopicResult> {
    if (this.replica(topic)) {
      await this.store.drop(topic);
      this.logger.log(`topic '${topic}' was deleted by its host; forgotten`);
    }
    return { status: 'success', message: `Topic '${topic}' forgotten`, topic };
  }

  subscriptions(): Array<{ topic: string; hostPeer: string; nextOffset: number }> {
    return this.store.topicsWithRole('replica').map((topic) => {
      const stored = this.store.get(topic)!;
      return { topic, hostPeer: stored.host?.peerId ?? '', nextOffset: stored.log.nextOffset };
    });
  }

  private replica(topic: string): StoredTopic | undefined {
    const stored = this.store.get(topic);
    return stored?.role === 'replica' ? stored : undefined;
  }

  private subscribed(topic: string, hostPeer: string, startOffset: number): SubscribeResult {
    return {
      status: 'success',
      message: `Subscribed to topic '${topic}'`,
      topic,
      hostPeer,
      startOffset,
    };
  }
}
