import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { IncarnationReset, NotSubscribedError, PullResult } from '@p2p-pubsub/protocol';
import { PullDto } from '@p2p-pubsub/protocol/dto';
import { LogStore } from '../log/log-store';
import { PeerConfig } from '../peer.config';

const DEFAULT_CONSUMER = 'default';
const DEFAULT_PULL_MAX = 100;
/** The journal (per topic) that keeps each consumer's next offset. */
const CONSUMERS_JOURNAL = 'consumers';

/**
 * Local consumers: each named consumer has a position per topic on this peer
 * and pulls what lies past it, in offset order, once. Positions are journaled
 * with the topic before the pull replies, so a restart (even kill -9) neither
 * repeats nor skips a message for a consumer.
 */
@Injectable()
export class ConsumersService implements OnModuleInit, OnModuleDestroy {
  /** Long polls parked until their topic grows or goes away. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private closing = false;

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
  ) {}

  onModuleInit(): void {
    this.store.onAppend((topic) => this.wakeWaiters(topic));
    this.store.onDrop((topic) => this.wakeWaiters(topic));
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

  async pull(dto: PullDto): Promise<PullResult> {
    const result = await this.read(dto);
    if (result.messages.length > 0 || !dto.waitMs || this.closing) return result;
    await this.waitForAppend(dto.topic, dto.waitMs);
    return this.read(dto);
  }

  /**
   * Reads from the consumer's position (or `fromOffset`, without moving it).
   * `skipped` counts offsets between the start and what is returned that
   * this peer no longer holds or never received: retention removed them.
   * The position moves only once it is journaled (a full disk answers
   * STORAGE_FULL and the next pull returns the same messages).
   */
  private async read(dto: PullDto): Promise<PullResult> {
    const stored = this.store.get(dto.topic);
    if (!stored) throw new NotSubscribedError(dto.topic);
    const { log } = stored;
    const consumer = dto.consumer ?? DEFAULT_CONSUMER;
    const positions = this.store.journal<number>(dto.topic, CONSUMERS_JOURNAL);
    const replay = dto.fromOffset !== undefined;
    const position = replay ? dto.fromOffset : positions.get(consumer);
    // A consumer of an incarnation this one replaced is told once, with the
    // pull that gives it its first position in this one.
    const reset = replay ? undefined : this.store.pendingReset(dto.topic, consumer);

    // A new consumer starts at the oldest message this peer holds.
    const start = position ?? log.firstOffset;
    const end = this.store.readableEnd(stored);
    // Bound the reply by bytes as well as count so it always fits one frame.
    const records = log
      .read(start, dto.max ?? DEFAULT_PULL_MAX, this.config.maxMessageBytes)
      .filter((record) => record.offset < end);
    const nextOffset =
      records.length > 0 ? records[records.length - 1].offset + 1 : Math.max(start, end);
    const skipped = nextOffset - start - records.length;
    if (
      !replay &&
      (reset !== undefined ||
        (position !== nextOffset && (records.length > 0 || position !== undefined)))
    ) {
      await positions.set(consumer, nextOffset);
      if (reset) await this.store.clearReset(dto.topic, consumer);
    }
    return {
      status: 'success',
      message: `${records.length} message(s) pulled from topic '${dto.topic}'`,
      topic: dto.topic,
      consumer,
      incarnation: stored.incarnation,
      ...(reset && { reset }),
      messages: records.map(({ offset, message, publishedAt }) => ({
        offset,
        message,
        publishedAt,
      })),
      nextOffset,
      skipped,
    };
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

  private waitForAppend(topic: string, waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.waiters.get(topic);
      if (!waiters) {
        waiters = new Set();
        this.waiters.set(topic, waiters);
      }
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      waiters.add(wake);
    });
  }

  private wakeWaiters(topic: string): void {
    const waiters = this.waiters.get(topic);
    if (!waiters || waiters.size === 0) return;
    for (const wake of [...waiters]) wake();
  }
}
