import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  AddSubscriberDto,
  AddSubscriberResult,
  DeliverResult,
  ErrorCodes,
  PeerInternalPatterns,
  PubSubError,
  SuccessReply,
  TopicNotFoundError,
} from '@app/protocol';
import { PeerLinks } from '../links/peer-links';
import { LogStore } from '../log/log-store';
import { TopicLog } from '../log/topic-log';
import { PeerConfig } from '../peer.config';

const MAX_BATCH_RECORDS = 1000;
const FIRST_RETRY_DELAY_MS = 50;
const MAX_RETRY_DELAY_MS = 5_000;

/** Where one subscriber peer is in one hosted topic. */
interface SubscriberCursor {
  peerId: string;
  host: string;
  port: number;
  /** The next offset to send: everything below it is acknowledged. */
  nextOffset: number;
  sending: boolean;
  retryTimer?: NodeJS.Timeout;
  retryDelayMs: number;
}

/**
 * Host to subscribers. Each subscriber peer has a cursor into the topic's
 * log; a pump sends what lies past it in batches, one batch in flight at a
 * time (so order holds), advances on acknowledgement and retries with backoff
 * while the subscriber is unreachable. Publish only wakes the pumps, so a slow
 * or dead subscriber never holds up publish or the other subscribers.
 */
@Injectable()
export class DeliveryService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Delivery');
  private readonly cursors = new Map<string, Map<string, SubscriberCursor>>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
    private readonly links: PeerLinks,
  ) {}

  onModuleInit(): void {
    this.store.onAppend((topic) => this.wake(topic));
  }

  onApplicationShutdown(): void {
    for (const topic of this.cursors.keys()) this.stop(topic);
  }

  addSubscriber(dto: AddSubscriberDto): AddSubscriberResult {
    const log = this.hostedLog(dto.topic);
    const peerId = `${dto.host}:${dto.port}`;
    let topicCursors = this.cursors.get(dto.topic);
    if (!topicCursors) {
      topicCursors = new Map();
      this.cursors.set(dto.topic, topicCursors);
    }
    let cursor = topicCursors.get(peerId);
    if (!cursor) {
      cursor = {
        peerId,
        host: dto.host,
        port: dto.port,
        nextOffset: this.startOffset(log, dto.from),
        sending: false,
        retryDelayMs: FIRST_RETRY_DELAY_MS,
      };
      topicCursors.set(peerId, cursor);
      this.logger.log(`peer ${peerId} subscribed to '${dto.topic}' from offset ${cursor.nextOffset}`);
    }
    this.pump(dto.topic, cursor);
    return {
      status: 'success',
      message: `Peer ${peerId} subscribed to topic '${dto.topic}'`,
      topic: dto.topic,
      startOffset: cursor.nextOffset,
    };
  }

  removeSubscriber(topic: string, peerId: string): SuccessReply {
    const cursor = this.cursors.get(topic)?.get(peerId);
    if (cursor) {
      clearTimeout(cursor.retryTimer);
      this.cursors.get(topic)?.delete(peerId);
      this.logger.log(`peer ${peerId} unsubscribed from '${topic}'`);
    }
    return { status: 'success', message: `Peer ${peerId} unsubscribed from topic '${topic}'` };
  }

  subscribersOf(topic: string): string[] {
    return [...(this.cursors.get(topic)?.keys() ?? [])];
  }

  /** Forgets the topic's subscribers and tells each that the topic is gone. */
  topicDeleted(topic: string): void {
    const subscribers = [...(this.cursors.get(topic)?.values() ?? [])];
    this.stop(topic);
    for (const cursor of subscribers) {
      this.links
        .to(cursor.host, cursor.port)
        .request(PeerInternalPatterns.TopicDeleted, { topic })
        .catch((error: Error) =>
          this.logger.warn(`could not tell ${cursor.peerId} that '${topic}' was deleted: ${error.message}`),
        );
    }
  }

  private stop(topic: string): void {
    for (const cursor of this.cursors.get(topic)?.values() ?? []) clearTimeout(cursor.retryTimer);
    this.cursors.delete(topic);
  }

  private hostedLog(topic: string): TopicLog {
    const stored = this.store.get(topic);
    if (!stored || stored.role !== 'hosted') throw new TopicNotFoundError(topic);
    return stored.log;
  }

  private startOffset(log: TopicLog, from: AddSubscriberDto['from']): number {
    if (from === 'earliest') return log.firstOffset;
    if (typeof from === 'number') return Math.min(Math.max(from, log.firstOffset), log.nextOffset);
    return log.nextOffset;
  }

  private wake(topic: string): void {
    const topicCursors = this.cursors.get(topic);
    if (!topicCursors) return;
    for (const cursor of topicCursors.values()) this.pump(topic, cursor);
  }

  private pump(topic: string, cursor: SubscriberCursor): void {
    if (cursor.sending || cursor.retryTimer) return;
    const stored = this.store.get(topic);
    if (!stored) return;
    const records = stored.log.read(cursor.nextOffset, MAX_BATCH_RECORDS, this.config.maxMessageBytes);
    if (records.length === 0) return;

    cursor.sending = true;
    const weight = records.reduce((sum, record) => sum + record.message.length, 0);
    this.links
      .to(cursor.host, cursor.port)
      .request<DeliverResult>(PeerInternalPatterns.Deliver, { topic, records }, weight)
      .then(
        (ack) => {
          cursor.sending = false;
          cursor.retryDelayMs = FIRST_RETRY_DELAY_MS;
          cursor.nextOffset = Math.max(cursor.nextOffset, ack.ackedOffset + 1);
          if (this.cursors.get(topic)?.get(cursor.peerId) === cursor) this.pump(topic, cursor);
        },
        (error: unknown) => {
          cursor.sending = false;
          if (error instanceof PubSubError && error.code === ErrorCodes.NotSubscribed) {
            this.removeSubscriber(topic, cursor.peerId);
            return;
          }
          this.retryLater(topic, cursor, error as Error);
        },
      );
  }

  private retryLater(topic: string, cursor: SubscriberCursor, error: Error): void {
    if (this.cursors.get(topic)?.get(cursor.peerId) !== cursor) return;
    if (cursor.retryDelayMs === FIRST_RETRY_DELAY_MS) {
      this.logger.warn(`delivery of '${topic}' to ${cursor.peerId} failed (${error.message}); retrying with backoff`);
    }
    cursor.retryTimer = setTimeout(() => {
      cursor.retryTimer = undefined;
      this.pump(topic, cursor);
    }, cursor.retryDelayMs);
    cursor.retryTimer.unref();
    cursor.retryDelayMs = Math.min(cursor.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  }
}
