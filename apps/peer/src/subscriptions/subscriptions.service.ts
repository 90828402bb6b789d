import { Injectable, Logger } from '@nestjs/common';
import {
  AddSubscriberResult,
  DeliverDto,
  DeliverResult,
  NotSubscribedError,
  PeerAddress,
  PeerInternalPatterns,
  StartPosition,
  SubscribeResult,
  TopicNotFoundError,
  TopicResult,
} from '@app/protocol';
import { IndexerLink } from '../links/indexer-link';
import { PeerLinks } from '../links/peer-links';
import { LogStore } from '../log/log-store';
import { PeerIdentity } from '../peer-identity';

/**
 * Outgoing subscriptions: this peer asking hosts for their topics, and
 * keeping what they push in replica logs for local consumers.
 */
@Injectable()
export class SubscriptionsService {
  private readonly logger = new Logger('Subscriptions');
  private readonly hosts = new Map<string, PeerAddress>();

  constructor(
    private readonly identity: PeerIdentity,
    private readonly store: LogStore,
    private readonly indexer: IndexerLink,
    private readonly links: PeerLinks,
  ) {}

  async subscribe(topic: string, from: StartPosition = 'latest'): Promise<SubscribeResult> {
    const stored = this.store.get(topic);
    if (stored?.role === 'hosted') {
      return this.subscribed(topic, this.identity.peerId, stored.log.firstOffset);
    }
    const known = this.hosts.get(topic);
    if (stored && known) return this.subscribed(topic, known.peerId, stored.log.nextOffset);

    const host = await this.indexer.lookup(topic, true);
    if (host.peerId === this.identity.peerId) throw new TopicNotFoundError(topic);
    // The replica exists before the host is asked, so a delivery that races
    // the reply finds somewhere to land.
    this.store.open(topic, 'replica');
    this.hosts.set(topic, { peerId: host.peerId, host: host.host, port: host.port });
    try {
      const reply = await this.links
        .to(host.host, host.port)
        .request<AddSubscriberResult>(PeerInternalPatterns.AddSubscriber, {
          topic,
          host: this.identity.host,
          port: this.identity.port,
          from,
        });
      this.logger.log(`subscribed to '${topic}' on ${host.peerId} from offset ${reply.startOffset}`);
      return this.subscribed(topic, host.peerId, reply.startOffset);
    } catch (error) {
      this.hosts.delete(topic);
      await this.store.drop(topic);
      throw error;
    }
  }

  async unsubscribe(topic: string): Promise<TopicResult> {
    const host = this.hosts.get(topic);
    if (!host || this.store.get(topic)?.role !== 'replica') throw new NotSubscribedError(topic);
    this.hosts.delete(topic);
    await this.store.drop(topic);
    // Best effort: a host that never hears this drops us on its next delivery.
    await this.links
      .to(host.host, host.port)
      .request(PeerInternalPatterns.RemoveSubscriber, { topic, peerId: this.identity.peerId })
      .catch((error: Error) => this.logger.warn(`could not tell ${host.peerId} about unsubscribe: ${error.message}`));
    return { status: 'success', message: `Unsubscribed from topic '${topic}'`, topic };
  }

  /** A batch pushed by the host: stored by offset, duplicates dropped. */
  receive(dto: DeliverDto): DeliverResult {
    const stored = this.store.get(dto.topic);
    if (!stored || stored.role !== 'replica') throw new NotSubscribedError(dto.topic);
    this.store.appendReplica(dto.topic, stored.log, dto.records);
    return {
      status: 'success',
      message: `Received ${dto.records.length} message(s) on topic '${dto.topic}'`,
      topic: dto.topic,
      ackedOffset: stored.log.nextOffset - 1,
    };
  }

  async topicDeleted(topic: string): Promise<TopicResult> {
    if (this.store.get(topic)?.role === 'replica') {
      this.hosts.delete(topic);
      await this.store.drop(topic);
      this.logger.log(`topic '${topic}' was deleted by its host; forgotten`);
    }
    return { status: 'success', message: `Topic '${topic}' forgotten`, topic };
  }

  subscriptions(): Array<{ topic: string; hostPeer: string; nextOffset: number }> {
    return [...this.hosts].map(([topic, host]) => ({
      topic,
      hostPeer: host.peerId,
      nextOffset: this.store.get(topic)?.log.nextOffset ?? 0,
    }));
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
