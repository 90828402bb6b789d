import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import {
  AddSubscriberResult,
  DeliverResult,
  ErrorCodes,
  PeerInternalPatterns,
  PubSubError,
  StaleEpochError,
  SuccessReply,
  TopicNotFoundError,
} from '@p2p-pubsub/protocol';
import { AddSubscriberDto } from '@p2p-pubsub/protocol/dto';
import { Backoff } from '@p2p-pubsub/client';
import { PeerLinks } from '../links/peer-links';
import { LogStore, StoredTopic } from '../log/log-store';
import { StateJournal } from '../log/state-journal';
import { LogRecord } from '../log/topic-log';
import { PeerConfig } from '../peer.config';

const MAX_BATCH_RECORDS = 1000;
/**
 * Acknowledged offsets are checkpointed at most this often per topic. A
 * checkpoint lost to a crash only means redelivering what came after it,
 * which subscriber peers drop by offset, so it need not be written per ack.
 */
const CHECKPOINT_DELAY_MS = 100;
/** A checkpoint that failed (a full disk) is tried again this much later. */
const CHECKPOINT_RETRY_MS = 1_000;
/** The journal (per hosted topic) that keeps its subscribers and their cursors. */
const SUBSCRIBERS_JOURNAL = 'subscribers';

/** Where one subscriber peer is in one hosted topic. */
interface SubscriberCursor {
  peerId: string;
  host: string;
  port: number;
  /** The next offset to send: everything below it is acknowledged. */
  nextOffset: number;
  /** nextOffset as last written to the journal. */
  savedOffset: number;
  sending: boolean;
  retryTimer?: NodeJS.Timeout;
  /** Deliveries retried since this cursor was made (a metric). */
  retries: number;
  /** While the subscriber cannot be reached: 25-50 ms doubling to 2.5-5 s. */
  retry: Backoff;
}

/** What the journal keeps per subscriber, keyed by peer id. */
interface SavedCursor {
  host: string;
  port: number;
  nextOffset: number;
}

/**
 * Host to subscribers. Each subscriber peer has a cursor into the topic's
 * log; a pump sends what lies past it in batches, one batch in flight at a
 * time (so order holds), advances on acknowledgement and retries with backoff
 * while the subscriber is unreachable. Publish only wakes the pumps, so a slow
 * or dead subscriber never holds up publish or the other subscribers.
 *
 * Subscribers and their acknowledged offsets are journaled with the topic,
 * so a restarted host resumes every subscriber where it left off. Every
 * batch names the topic's epoch and incarnation: a subscriber whose replica
 * is of another one refuses it (STALE_EPOCH), and the pump retries later.
 */
@Injectable()
export class DeliveryService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('Delivery');
  private readonly cursors = new Map<string, Map<string, SubscriberCursor>>();
  private readonly checkpointTimers = new Map<string, NodeJS.Timeout>();
  /** Topics whose last checkpoint failed: said once, and again when one succeeds. */
  private readonly failingCheckpoints = new Set<string>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
    private readonly links: PeerLinks,
  ) {}

  onModuleInit(): void {
    this.store.onAppend((topic) => this.wake(topic));
  }

  /** Picks up the subscribers of every hosted topic the store reopened. */
  onApplicationBootstrap(): void {
    for (const topic of this.store.topicsWithRole('hosted')) {
      const saved = this.journal(topic).entries();
      for (const [peerId, cursor] of saved) {
        this.cursorsOf(topic).set(
          peerId,
          this.newCursor(peerId, cursor.host, cursor.port, cursor.nextOffset),
        );
      }
      if (saved.length > 0) {
        this.logger.log(
          `resuming '${topic}' for ${saved.map(([peerId, cursor]) => `${peerId} at ${cursor.nextOffset}`).join(', ')}`,
        );
        this.wake(topic);
      }
    }
  }

  /** Stops the pumps and checkpoints every cursor before the store closes. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const topic of [...this.cursors.keys()]) {
      await this.checkpoint(topic).catch((error: Error) =>
        this.logger.warn(`could not checkpoint '${topic}' on shutdown: ${error.message}`, {
          topic,
        }),
      );
      this.stop(topic);
    }
  }

  /**
   * Journals a new subscriber before answering, and only then starts
   * delivering to it: on a full disk the subscribe fails and nothing changed.
   */
  async addSubscriber(dto: AddSubscriberDto): Promise<AddSubscriberResult> {
    const stored = this.hosted(dto.topic);
    if (dto.epoch !== undefined && dto.epoch !== stored.epoch)
      throw new StaleEpochError(dto.topic, dto.epoch, stored.epoch);
    const { log } = stored;
    const peerId = `${dto.host}:${dto.port}`;
    let cursor = this.cursors.get(dto.topic)?.get(peerId);
    if (!cursor) {
      const added = this.newCursor(peerId, dto.host, dto.port, this.startOffset(log, dto.from));
      await this.save(dto.topic, added);
      // A concurrent subscribe of the same peer may have won while this one was saved.
      cursor = this.cursorsOf(dto.topic).get(peerId);
      if (!cursor) {
        cursor = added;
        this.cursorsOf(dto.topic).set(peerId, cursor);
      }
      this.logger.log(
        `peer ${peerId} subscribed to '${dto.topic}' from offset ${cursor.nextOffset}`,
        { topic: dto.topic, peer: peerId, offset: cursor.nextOffset },
      );
    }
    this.pump(dto.topic, cursor);
    return {
      status: 'success',
      message: `Peer ${peerId} subscribed to topic '${dto.topic}'`,
      topic: dto.topic,
      epoch: stored.epoch,
      incarnation: stored.incarnation,
      startOffset: cursor.nextOffset,
    };
  }

  async removeSubscriber(topic: string, peerId: string): Promise<SuccessReply> {
    const cursor = this.cursors.get(topic)?.get(peerId);
    if (cursor) {
      // Journaled first: a removal that did not reach the disk changes nothing.
      if (this.store.get(topic)) await this.journal(topic).delete(peerId);
      clearTimeout(cursor.retryTimer);
      if (this.isCurrent(topic, cursor)) this.cursors.get(topic)?.delete(peerId);
      this.logger.log(`peer ${peerId} unsubscribed from '${topic}'`);
    }
    return { status: 'success', message: `Peer ${peerId} unsubscribed from topic '${topic}'` };
  }

  subscribersOf(topic: string): string[] {
    return [...(this.cursors.get(topic)?.keys() ?? [])];
  }

  /** Every subscriber peer's cursor, read-only (for status and metrics). */
  *cursorPositions(): Iterable<{
    topic: string;
    peerId: string;
    nextOffset: number;
    retries: number;
  }> {
    for (const [topic, topicCursors] of this.cursors) {
      for (const { peerId, nextOffset, retries } of topicCursors.values())
        yield { topic, peerId, nextOffset, retries };
    }
  }

  /** Forgets the topic's subscribers and tells each that the topic (of `epoch`) is gone. */
  topicDeleted(topic: string, epoch: number): void {
    const subscribers = [...(this.cursors.get(topic)?.values() ?? [])];
    this.stop(topic);
    for (const cursor of subscribers) {
      this.links
        .to(cursor.host, cursor.port)
        .request(PeerInternalPatterns.TopicDeleted, { topic, epoch })
        .catch((error: Error) =>
          this.logger.warn(
            `could not tell ${cursor.peerId} that '${topic}' was deleted: ${error.message}`,
          ),
        );
    }
  }

  /**
   * Stops pushing a topic this peer no longer hosts (another peer holds the
   * name). Subscribers are not told: they follow the new host on their own.
   */
  topicRetired(topic: string): void {
    this.stop(topic);
  }

  private stop(topic: string): void {
    for (const cursor of this.cursors.get(topic)?.values() ?? []) clearTimeout(cursor.retryTimer);
    this.cursors.delete(topic);
    clearTimeout(this.checkpointTimers.get(topic));
    this.checkpointTimers.delete(topic);
  }

  private hosted(topic: string): StoredTopic {
    const stored = this.store.get(topic);
    if (!stored || stored.role !== 'hosted') throw new TopicNotFoundError(topic);
    return stored;
  }

  private startOffset(log: StoredTopic['log'], from: AddSubscriberDto['from']): number {
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
    if (!stored || stored.role !== 'hosted') return;
    const end = this.store.readableEnd(stored);
    let records: LogRecord[];
    try {
      records = stored.log
        .read(cursor.nextOffset, MAX_BATCH_RECORDS, this.config.maxMessageBytes)
        .filter((record) => record.offset < end);
    } catch (error) {
      // Out of descriptors, or a failing disk: this runs from publish and timers, so it retries.
      this.retryLater(topic, cursor, error as Error);
      return;
    }
    if (records.length === 0) return;
    if (records[0].offset > cursor.nextOffset) {
      this.logger.warn(
        `peer ${cursor.peerId} skips offsets ${cursor.nextOffset}-${records[0].offset - 1} of '${topic}': retention removed them before delivery`,
      );
      // Said once: retries start from what is still there.
      cursor.nextOffset = records[0].offset;
    }

    cursor.sending = true;
    const weight = records.reduce((sum, record) => sum + record.message.length, 0);
    this.links
      .to(cursor.host, cursor.port)
      .request<DeliverResult>(
        PeerInternalPatterns.Deliver,
        { topic, epoch: stored.epoch, incarnation: stored.incarnation, records },
        weight,
      )
      .then(
        (ack) => {
          cursor.sending = false;
          if (ack.ackedOffset < cursor.nextOffset) {
            // Took nothing it was sent: sending the same at once again would spin.
            this.retryLater(topic, cursor, new Error(`acknowledged only up to ${ack.ackedOffset}`));
            return;
          }
          cursor.retry.reset();
          cursor.nextOffset = ack.ackedOffset + 1;
          if (!this.isCurrent(topic, cursor)) return;
          this.scheduleCheckpoint(topic);
          this.pump(topic, cursor);
        },
        (error: unknown) => {
          cursor.sending = false;
          if (error instanceof PubSubError && error.code === ErrorCodes.NotSubscribed) {
            this.removeSubscriber(topic, cursor.peerId).catch((removeError: Error) => {
              this.logger.warn(
                `could not remove ${cursor.peerId} from '${topic}': ${removeError.message}`,
              );
              this.retryLater(topic, cursor, error);
            });
            return;
          }
          this.retryLater(topic, cursor, error as Error);
        },
      );
  }

  private retryLater(topic: string, cursor: SubscriberCursor, error: Error): void {
    if (!this.isCurrent(topic, cursor)) return;
    if (cursor.retry.attempts === 0) {
      this.logger.warn(
        `delivery of '${topic}' to ${cursor.peerId} failed (${error.message}); retrying with backoff`,
      );
    }
    cursor.retries++;
    cursor.retryTimer = setTimeout(() => {
      cursor.retryTimer = undefined;
      this.pump(topic, cursor);
    }, cursor.retry.next());
    cursor.retryTimer.unref();
  }

  /**
   * A checkpoint that fails (a full disk) is logged once and tried again
   * later; the cursors keep their last saved offset meanwhile, so a crash
   * means redelivery from there, never a gap.
   */
  private scheduleCheckpoint(topic: string, delayMs = CHECKPOINT_DELAY_MS): void {
    if (this.checkpointTimers.has(topic)) return;
    const timer = setTimeout(() => {
      this.checkpointTimers.delete(topic);
      this.checkpoint(topic).then(
        () => {
          if (this.failingCheckpoints.delete(topic)) {
            this.logger.log(`cursors of '${topic}' checkpointed again`, { topic });
          }
        },
        (error: Error) => {
          if (!this.failingCheckpoints.has(topic)) {
            this.failingCheckpoints.add(topic);
            this.logger.warn(
              `checkpoint of '${topic}' failed (${error.message}); retrying every ${CHECKPOINT_RETRY_MS} ms`,
              { topic },
            );
          }
          if (this.cursors.has(topic)) this.scheduleCheckpoint(topic, CHECKPOINT_RETRY_MS);
        },
      );
    }, delayMs);
    timer.unref();
    this.checkpointTimers.set(topic, timer);
  }

  /** Writes the cursors of `topic` that moved since they were last saved. */
  private async checkpoint(topic: string): Promise<void> {
    if (!this.store.get(topic)) return;
    for (const cursor of this.cursors.get(topic)?.values() ?? []) {
      if (cursor.nextOffset !== cursor.savedOffset) await this.save(topic, cursor);
    }
  }

  /** Journals the cursor; `savedOffset` moves only once that succeeded. */
  private async save(topic: string, cursor: SubscriberCursor): Promise<void> {
    const nextOffset = cursor.nextOffset;
    await this.journal(topic).set(cursor.peerId, {
      host: cursor.host,
      port: cursor.port,
      nextOffset,
    });
    cursor.savedOffset = nextOffset;
  }

  private journal(topic: string): StateJournal<SavedCursor> {
    return this.store.journal<SavedCursor>(topic, SUBSCRIBERS_JOURNAL);
  }

  private isCurrent(topic: string, cursor: SubscriberCursor): boolean {
    return this.cursors.get(topic)?.get(cursor.peerId) === cursor;
  }

  private cursorsOf(topic: string): Map<string, SubscriberCursor> {
    let topicCursors = this.cursors.get(topic);
    if (!topicCursors) {
      topicCursors = new Map();
      this.cursors.set(topic, topicCursors);
    }
    return topicCursors;
  }

  private newCursor(
    peerId: string,
    host: string,
    port: number,
    nextOffset: number,
  ): SubscriberCursor {
    return {
      peerId,
      host,
      port,
      nextOffset,
      savedOffset: nextOffset,
      sending: false,
      retries: 0,
      retry: new Backoff({ initialMs: 50, maxMs: 5_000 }),
    };
  }
}
