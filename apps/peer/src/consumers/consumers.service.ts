import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  AckResult,
  IncarnationReset,
  NotSubscribedError,
  PullResult,
  PulledMessage,
  ValidationFailedError,
} from '@p2p-pubsub/protocol';
import { AckDto, PullDto } from '@p2p-pubsub/protocol/dto';
import type { ClientConnection } from '@p2p-pubsub/server';
import { LogStore, StoredTopic } from '../log/log-store';
import { PeerConfig } from '../peer.config';
import { ConsumerPosition, HandedOutRange } from './consumer-position';

const DEFAULT_CONSUMER = 'default';
const DEFAULT_PULL_MAX = 100;
/** The journal (per topic) that keeps each consumer's committed position. */
const CONSUMERS_JOURNAL = 'consumers';
/** What a reply costs beyond its messages' text, per message and once: an estimate. */
const REPLY_BYTES_PER_MESSAGE = 64;
const REPLY_BYTES_BASE = 256;

/** What one pull read, before it is handed out. */
interface Batch {
  topic: string;
  consumer: string;
  /** Set when the pull moves the consumer (not a replay, not autoAck: false). */
  entry?: PendingPosition;
  start: number;
  result: PullResult;
  /** The incarnation switch this consumer is still to be told about, if any. */
  reset?: IncarnationReset;
  /** About how long the reply is. */
  bytes: number;
}

/** A consumer's position with replies on their way, tied to the topic it was read from. */
interface PendingPosition {
  /** A topic deleted and created again is another log: its positions start afresh. */
  stored: StoredTopic;
  position: ConsumerPosition;
  /**
   * Its committed position moved but could not be journaled (a full disk):
   * saved again before this consumer is handed anything more.
   */
  unsaved?: boolean;
}

/**
 * Local consumers: each named consumer has a position per topic on this
 * peer and pulls what lies past it, in offset order.
 *
 * Delivery is at least once. A pull moves its consumer only once its reply
 * was handed over to the client's open connection (ClientConnection), so a
 * client that went away before its reply, for instance in the middle of a
 * long poll, loses nothing; `ConsumerPosition` keeps pipelined pulls of a
 * live client getting successive batches meanwhile. The committed position
 * is journaled with the topic, so a restart (even kill -9) resumes from it:
 * what was handed over but not yet journaled comes again. With
 * `autoAck: false` a pull moves nothing, and `ack` moves the position once
 * the client has processed what it pulled.
 */
@Injectable()
export class ConsumersService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Consumers');
  /** Long polls parked until their topic grows or goes away. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Per topic, per consumer: positions with replies on their way (idle ones are dropped). */
  private readonly pending = new Map<string, Map<string, PendingPosition>>();
  private closing = false;

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
  ) {}

  onModuleInit(): void {
    this.store.onAppend((topic) => this.wakeWaiters(topic));
    this.store.onDrop((topic) => {
      this.pending.delete(topic);
      this.wakeWaiters(topic);
    });
  }

  /** Parked long polls answer now, so shutdown does not wait out their waitMs. */
  onModuleDestroy(): void {
    this.closing = true;
    for (const topic of this.waiters.keys()) this.wakeWaiters(topic);
  }

  /**
   * Every named consumer's next offset, by topic, read-only (for status and
   * metrics). A topic no consumer has pulled yet gets its (empty) journal.
   */
  positions(): Array<{ topic: string; consumer: string; nextOffset: number }> {
    return [
      ...this.store.topicsWithRole('hosted'),
      ...this.store.topicsWithRole('replica'),
    ].flatMap((topic) =>
      this.store
        .journal<number>(topic, CONSUMERS_JOURNAL)
        .entries()
        .map(([consumer, nextOffset]) => ({ topic, consumer, nextOffset })),
    );
  }

  /**
   * `connection` is the client's; without one (a caller inside this
   * process) the reply counts as handed over as soon as it is produced.
   */
  async pull(dto: PullDto, connection?: ClientConnection): Promise<PullResult> {
    // A client that does not read its replies gets no more of them.
    connection?.assertReplyRoom();
    if (dto.fromOffset === undefined && dto.autoAck !== false) {
      await this.saveUnsaved(dto.topic, dto.consumer ?? DEFAULT_CONSUMER);
    }
    let batch = this.read(dto);
    if (batch.result.messages.length === 0 && dto.waitMs && !this.closing) {
      const stillThere = await this.waitForAppend(dto.topic, dto.waitMs, connection);
      // Nobody to answer: nothing is handed out.
      if (!stillThere) return batch.result;
      batch = this.read(dto);
    }
    this.handOut(batch, connection);
    return batch.result;
  }

  /**
   * Moves the consumer's committed position forward to `nextOffset`
   * (everything below it processed). Acknowledging again, or behind the
   * position, changes nothing; past what the peer holds is refused.
   */
  async ack(dto: AckDto): Promise<AckResult> {
    const stored = this.stored(dto.topic);
    const consumer = dto.consumer ?? DEFAULT_CONSUMER;
    const end = this.store.readableEnd(stored);
    if (dto.nextOffset > end) {
      throw new ValidationFailedError(
        `Cannot acknowledge up to offset ${dto.nextOffset}: topic '${dto.topic}' ends at ${end} on this peer`,
      );
    }
    const journal = this.store.journal<number>(dto.topic, CONSUMERS_JOURNAL);
    const committed = journal.get(consumer);
    const entry = this.pendingPosition(dto.topic, stored, consumer, false);
    // A hand-over not saved yet is saved with the ack.
    const target = entry?.unsaved
      ? Math.max(dto.nextOffset, entry.position.committed ?? 0)
      : dto.nextOffset;
    if (committed === undefined || target > committed) {
      // Durable first: a failed write (STORAGE_FULL, ...) moves nothing.
      await journal.set(consumer, target);
      if (entry) {
        entry.unsaved = false;
        entry.position.acknowledge(target);
        this.dropIfIdle(dto.topic, consumer, entry);
      }
    }
    if (this.store.pendingReset(dto.topic, consumer))
      await this.store.clearReset(dto.topic, consumer);
    const nextOffset = journal.get(consumer)!;
    return {
      status: 'success',
      message: `Consumer '${consumer}' of topic '${dto.topic}' is at offset ${nextOffset}`,
      topic: dto.topic,
      consumer,
      nextOffset,
    };
  }

  /**
   * Reads from the consumer's delivery position (or from its committed one
   * with `autoAck: false`, or from `fromOffset`), moving nothing yet.
   * `skipped` counts offsets between the start and what is returned that
   * this peer no longer holds or never received: retention removed them.
   */
  private read(dto: PullDto): Batch {
    const stored = this.stored(dto.topic);
    const { log } = stored;
    const consumer = dto.consumer ?? DEFAULT_CONSUMER;
    const moves = dto.fromOffset === undefined && dto.autoAck !== false;
    const entry = moves ? this.pendingPosition(dto.topic, stored, consumer, true) : undefined;
    let start: number;
    if (dto.fromOffset !== undefined) start = dto.fromOffset;
    else if (entry) start = entry.position.nextStart(log.firstOffset);
    else start = this.committed(dto.topic, consumer) ?? log.firstOffset;
    // A consumer of an incarnation this one replaced is told, in every reply,
    // until one that moves it has reached it (or it acks).
    const reset =
      dto.fromOffset === undefined ? this.store.pendingReset(dto.topic, consumer) : undefined;

    const end = this.store.readableEnd(stored);
    // Bound the reply by bytes as well as count so it always fits one frame.
    const records = log
      .read(start, dto.max ?? DEFAULT_PULL_MAX, this.config.maxMessageBytes)
      .filter((record) => record.offset < end);
    const nextOffset =
      records.length > 0 ? records[records.length - 1].offset + 1 : Math.max(start, end);
    let bytes = REPLY_BYTES_BASE;
    const messages: PulledMessage[] = records.map(({ offset, message, publishedAt }) => {
      bytes += message.length + REPLY_BYTES_PER_MESSAGE;
      return { offset, message, publishedAt };
    });
    const result: PullResult = {
      status: 'success',
      message: `${messages.length} message(s) pulled from topic '${dto.topic}'`,
      topic: dto.topic,
      consumer,
      incarnation: stored.incarnation,
      ...(reset && { reset }),
      messages,
      nextOffset,
      skipped: nextOffset - start - records.length,
    };
    return { topic: dto.topic, consumer, entry, start, result, bytes, reset };
  }

  /**
   * Moves the delivery position past the batch and announces its reply to
   * `connection`, which settles it. Must follow `read` synchronously.
   */
  private handOut(batch: Batch, connection: ClientConnection | undefined): void {
    const { topic, consumer, entry, start, result } = batch;
    const range =
      entry && result.nextOffset > start
        ? entry.position.handOut(start, result.nextOffset)
        : undefined;
    const settled = (handedOver: boolean) => {
      if (entry && range) this.settle(topic, consumer, entry, range, handedOver);
      if (entry && handedOver && batch.reset) this.clearReset(topic, consumer, entry.stored);
    };
    // Replays are announced too: their bytes count against the client's bound.
    if (connection) connection.trackReply(result, batch.bytes, settled);
    else settled(true);
    if (entry && !range) this.dropIfIdle(topic, consumer, entry);
  }

  /** A reply carrying `range` reached its client, or did not. */
  private settle(
    topic: string,
    consumer: string,
    entry: PendingPosition,
    range: HandedOutRange,
    handedOver: boolean,
  ): void {
    // The topic went away (or is another incarnation of the name) meanwhile.
    if (this.pending.get(topic)?.get(consumer) !== entry) return;
    if (!handedOver) {
      entry.position.lost(range);
      this.dropIfIdle(topic, consumer, entry);
      return;
    }
    if (!entry.position.handedOver(range)) {
      this.dropIfIdle(topic, consumer, entry);
      return;
    }
    const journal = this.store.journal<number>(topic, CONSUMERS_JOURNAL);
    const committed = entry.position.committed!;
    // A consume_ack may have moved the journaled position further meanwhile.
    const journaled = journal.get(consumer);
    if (journaled !== undefined && journaled >= committed) {
      this.dropIfIdle(topic, consumer, entry);
      return;
    }
    const unsaved = (error: unknown) => {
      // Not durable, so not moved on disk: kept in memory, and saved again
      // before this consumer gets anything more (its next pull answers the
      // storage error meanwhile). A restart resumes from the disk: duplicates.
      if (this.pending.get(topic)?.get(consumer) !== entry) return;
      if (!entry.unsaved) {
        this.logger.error(
          `could not save the position of consumer '${consumer}' of '${topic}': ${(error as Error).message}`,
        );
      }
      entry.unsaved = true;
    };
    try {
      journal.set(consumer, committed).catch(unsaved);
    } catch (error) {
      unsaved(error);
      return;
    }
    this.dropIfIdle(topic, consumer, entry);
  }

  /**
   * Saves a position whose journal write failed. Throws the storage error
   * (STORAGE_FULL, ...) while the disk still refuses it: the consumer is
   * handed nothing more until its last hand-over is saved.
   */
  private async saveUnsaved(topic: string, consumer: string): Promise<void> {
    const entry = this.pending.get(topic)?.get(consumer);
    if (!entry?.unsaved || this.store.get(topic) !== entry.stored) return;
    await this.store
      .journal<number>(topic, CONSUMERS_JOURNAL)
      .set(consumer, entry.position.committed!);
    entry.unsaved = false;
    this.dropIfIdle(topic, consumer, entry);
  }

  private stored(topic: string): StoredTopic {
    const stored = this.store.get(topic);
    if (!stored) throw new NotSubscribedError(topic);
    return stored;
  }

  private committed(topic: string, consumer: string): number | undefined {
    return this.store.journal<number>(topic, CONSUMERS_JOURNAL).get(consumer);
  }

  /** The consumer's pending position, made from its committed one when `create` says so. */
  private pendingPosition(
    topic: string,
    stored: StoredTopic,
    consumer: string,
    create: boolean,
  ): PendingPosition | undefined {
    let byConsumer = this.pending.get(topic);
    let entry = byConsumer?.get(consumer);
    if (entry && entry.stored !== stored) {
      byConsumer!.delete(consumer);
      entry = undefined;
    }
    if (entry) {
      // A consume_ack moves the journaled position without this service.
      const journaled = this.committed(topic, consumer);
      if (journaled !== undefined) entry.position.acknowledge(journaled);
      return entry;
    }
    if (!create) return entry;
    if (!byConsumer) {
      byConsumer = new Map();
      this.pending.set(topic, byConsumer);
    }
    entry = { stored, position: new ConsumerPosition(this.committed(topic, consumer)) };
    byConsumer.set(consumer, entry);
    return entry;
  }

  /** An idle position equals the journaled one: nothing to keep in memory. */
  private dropIfIdle(topic: string, consumer: string, entry: PendingPosition): void {
    if (!entry.position.idle || entry.unsaved) return;
    const byConsumer = this.pending.get(topic);
    if (byConsumer?.get(consumer) !== entry) return;
    byConsumer.delete(consumer);
    if (byConsumer.size === 0) this.pending.delete(topic);
  }

  /**
   * What each consumer of `topic` is to be told once a new incarnation
   * replaces the one this peer holds: the incarnation it read, and how many
   * of its messages it had not pulled (they are not carried over).
   */
  resetsOnReplace(topic: string): Map<string, IncarnationReset> {
    const resets = new Map<string, IncarnationReset>();
    const stored = this.store.get(topic);
    if (!stored) return resets;
    const { log, incarnation } = stored;
    for (const [consumer, position] of this.store
      .journal<number>(topic, CONSUMERS_JOURNAL)
      .entries()) {
      const unread = log.nextOffset - Math.max(position, log.firstOffset);
      resets.set(consumer, { previousIncarnation: incarnation, unread: Math.max(0, unread) });
    }
    // Told nothing yet about an earlier switch: still told about that one.
    for (const [consumer, pending] of this.store.pendingResets(topic)) {
      if (resets.has(consumer)) continue;
      const unread = pending.unread + log.nextOffset - log.firstOffset;
      resets.set(consumer, { previousIncarnation: pending.previousIncarnation, unread });
    }
    return resets;
  }

  /** The consumer has been told of the switch to this incarnation. */
  private clearReset(topic: string, consumer: string, stored: StoredTopic): void {
    if (this.store.get(topic) !== stored) return;
    this.store
      .clearReset(topic, consumer)
      .catch((error: Error) =>
        this.logger.warn(
          `could not record that consumer '${consumer}' of '${topic}' was told of its reset: ${error.message}`,
        ),
      );
  }

  /**
   * Resolves true once the topic grows or goes away, or after `waitMs`;
   * false as soon as the client's connection closes.
   */
  private waitForAppend(
    topic: string,
    waitMs: number,
    connection: ClientConnection | undefined,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      let waiters = this.waiters.get(topic);
      if (!waiters) {
        waiters = new Set();
        this.waiters.set(topic, waiters);
      }
      let stopWatching: (() => void) | undefined;
      let done = false;
      const finish = (clientThere: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        stopWatching?.();
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiters.get(topic) === waiters) this.waiters.delete(topic);
        resolve(clientThere);
      };
      const wake = () => finish(true);
      const timer = setTimeout(wake, waitMs);
      waiters.add(wake);
      stopWatching = connection?.onClose(() => finish(false));
    });
  }

  private wakeWaiters(topic: string): void {
    const waiters = this.waiters.get(topic);
    if (!waiters || waiters.size === 0) return;
    for (const wake of [...waiters]) wake();
  }
}
