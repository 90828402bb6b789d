import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  CONSUME_HEARTBEATS_MISSED,
  ConsumeAckResult,
  ConsumeFrame,
  DEFAULT_CONSUME_HEARTBEAT_MS,
  ForbiddenError,
  NotSubscribedError,
  Principal,
  PubSubError,
  PulledMessage,
  StaleEpochError,
  ValidationFailedError,
} from '@p2p-pubsub/protocol';
import { ConsumeAckDto, ConsumeDto } from '@p2p-pubsub/protocol/dto';
import { ClientConnection, Permissions, Security } from '@p2p-pubsub/server';
import { Observable, Subscriber } from 'rxjs';
import { LogStore, StoredTopic } from '../log/log-store';
import { PeerConfig } from '../peer.config';
import { ConsumersService } from './consumers.service';

/** The journal (per topic) that keeps each consumer's acknowledged position. */
const CONSUMERS_JOURNAL = 'consumers';
/** Messages in one frame, at most (the byte bound is the message limit, as for pull). */
const MAX_FRAME_MESSAGES = 1000;

/** One open `consume` stream. */
interface LiveStream {
  id: string;
  topic: string;
  /** Without one, the stream keeps no position on the peer. */
  consumer: string | undefined;
  /** Who opened it, with security on: a permissions reload that no longer lets it subscribe ends it. */
  caller: Principal | undefined;
  /** The incarnation of the topic it reads: another one (deleted, created again) ends it. */
  stored: StoredTopic;
  credit: number;
  heartbeatMs: number;
  /** Where the next frame reads from. */
  next: number;
  /** The acknowledged position: `next - acked` offsets are out, at most `credit`. */
  acked: number;
  subscriber: Subscriber<ConsumeFrame>;
  lastHeardAt: number;
  lastSentAt: number;
  timer: NodeJS.Timeout;
  pumpScheduled: boolean;
}

/**
 * Live consumption: a `consume` stream tails a named consumer from its
 * acknowledged position and pushes messages as they are appended, with
 * credit-based flow control: at most `credit` offsets are out beyond what
 * the client acknowledged, and each `consume_ack` moves the consumer's
 * position durably (the same journal `pull` moves) and returns credit.
 *
 * Nest never tells a handler that its client went away (an Observable
 * reply runs on after its socket closed), so a stream ends itself: when its
 * connection closes, when the client's heartbeats (any `consume_ack`) stop
 * for three intervals, when another stream takes the same consumer over
 * (the newest wins: a reconnecting client must not wait for its dead
 * stream to time out), when the topic goes away, or at shutdown. The next
 * stream starts from the acknowledged position, so what was out and not
 * acknowledged is delivered again: at least once.
 */
@Injectable()
export class ConsumeService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Consume');
  private readonly streams = new Map<string, LiveStream>();
  private readonly byTopic = new Map<string, Set<LiveStream>>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
    private readonly consumers: ConsumersService,
    private readonly security: Security,
  ) {}

  onModuleInit(): void {
    this.security.onPermissionsReloaded((permissions) => this.recheck(permissions));
    this.store.onAppend((topic) => {
      for (const stream of this.byTopic.get(topic) ?? []) this.schedulePump(stream);
    });
    this.store.onDrop((topic) => {
      // A copy: ending a stream removes it from the set.
      for (const stream of Array.from(this.byTopic.get(topic) ?? [])) {
        this.end(stream, 'the topic went away', new NotSubscribedError(topic));
      }
    });
  }

  /** Streams end at shutdown, so that none holds the drain of requests in flight. */
  onModuleDestroy(): void {
    for (const stream of Array.from(this.streams.values())) {
      this.end(stream, 'the peer is shutting down');
    }
  }

  /**
   * The stream for `dto`, which ends when `connection` (the client's)
   * closes; without one (a caller inside this process) only by the other
   * causes. `caller` is who opened it, with security on.
   */
  consume(
    dto: ConsumeDto,
    connection?: ClientConnection,
    caller?: Principal,
  ): Observable<ConsumeFrame> {
    return new Observable<ConsumeFrame>((subscriber) => {
      const stored = this.store.get(dto.topic);
      if (!stored) {
        subscriber.error(new NotSubscribedError(dto.topic));
        return;
      }
      for (const other of this.byTopic.get(dto.topic) ?? []) {
        if (dto.consumer !== undefined && other.consumer === dto.consumer) {
          this.logger.log(`${describe(other)}: a new stream takes over from ${other.id}`);
          this.end(other, 'another stream took the consumer over');
        }
      }
      const acked = this.startOf(dto, stored);
      const heartbeatMs = dto.heartbeatMs ?? DEFAULT_CONSUME_HEARTBEAT_MS;
      const now = Date.now();
      const stream: LiveStream = {
        id: dto.stream,
        topic: dto.topic,
        consumer: dto.consumer,
        caller,
        stored,
        credit: dto.credit,
        heartbeatMs,
        next: acked,
        acked,
        subscriber,
        lastHeardAt: now,
        lastSentAt: now,
        timer: setInterval(() => this.beat(stream), heartbeatMs),
        pumpScheduled: false,
      };
      stream.timer.unref();
      this.streams.set(stream.id, stream);
      let byTopic = this.byTopic.get(stream.topic);
      if (!byTopic) this.byTopic.set(stream.topic, (byTopic = new Set()));
      byTopic.add(stream);
      const stopWatching = connection?.onClose(() => this.end(stream, 'its connection closed'));
      this.logger.log(
        `${describe(stream)}: stream ${stream.id} started at offset ${acked} (credit ${stream.credit})`,
      );
      const reset =
        dto.consumer === undefined ? undefined : this.store.pendingReset(dto.topic, dto.consumer);
      this.send(stream, {
        type: 'started',
        topic: stream.topic,
        consumer: stream.consumer,
        startOffset: acked,
        incarnation: stored.incarnation,
        ...(reset && { reset }),
        credit: stream.credit,
        heartbeatMs,
      });
      this.pump(stream);
      return () => {
        stopWatching?.();
        this.forget(stream);
      };
    });
  }

  /**
   * Moves the consumer's acknowledged position to `nextOffset` (never back)
   * and returns the credit to its stream; without `nextOffset`, only shows
   * the client is alive. A named consumer moves as `ack` moves it, durably
   * first: a write the disk refuses (STORAGE_FULL, ...) is the reply, and
   * neither the position nor the credit moves. An ack for a stream that has
   * ended still moves the position: the work it acknowledges is done.
   */
  async ack(dto: ConsumeAckDto): Promise<ConsumeAckResult> {
    const stream = this.streams.get(dto.stream);
    const ours = stream?.topic === dto.topic && stream.consumer === dto.consumer;
    if (ours) stream.lastHeardAt = Date.now();
    const stored = this.store.get(dto.topic);
    if (!stored) throw new NotSubscribedError(dto.topic);
    let nextOffset: number | undefined;
    if (dto.nextOffset !== undefined) {
      if (dto.consumer !== undefined) {
        const { topic, consumer } = dto;
        ({ nextOffset } = await this.consumers.ack({
          topic,
          consumer,
          nextOffset: dto.nextOffset,
        }));
      } else {
        const end = this.store.readableEnd(stored);
        if (dto.nextOffset > end) {
          throw new ValidationFailedError(
            `Cannot acknowledge up to offset ${dto.nextOffset}: topic '${dto.topic}' ends at ${end} on this peer`,
          );
        }
      }
      if (ours) {
        stream.acked = Math.max(stream.acked, dto.nextOffset);
        this.schedulePump(stream);
      }
    }
    nextOffset ??=
      (dto.consumer === undefined
        ? undefined
        : this.store.journal<number>(dto.topic, CONSUMERS_JOURNAL).get(dto.consumer)) ??
      (ours ? stream.acked : undefined) ??
      stored.log.firstOffset;
    return {
      status: 'success',
      message: `${dto.consumer === undefined ? 'The stream' : `Consumer '${dto.consumer}'`} of topic '${dto.topic}' is at offset ${nextOffset}`,
      topic: dto.topic,
      ...(dto.consumer !== undefined && { consumer: dto.consumer }),
      nextOffset,
    };
  }

  /**
   * A stream was allowed when it started; after a reload it runs on only
   * while its caller may still subscribe to its topic (the guard's rule),
   * else it ends with FORBIDDEN, as its next `consume` would.
   */
  private recheck(permissions: Permissions): void {
    for (const stream of Array.from(this.streams.values())) {
      const { caller, topic } = stream;
      if (!caller || permissions.allows(caller.id, 'subscribe', topic)) continue;
      const refusal = new ForbiddenError(`${caller.id} may not subscribe on topic '${topic}'`);
      this.end(stream, `${caller.id} may no longer subscribe to it`, refusal);
    }
  }

  /**
   * Where a stream starts: the consumer's acknowledged position, else
   * `from` (a named consumer without one starts at the oldest message held,
   * as with pull; a stream without a consumer at the latest).
   */
  private startOf(dto: ConsumeDto, stored: StoredTopic): number {
    const { firstOffset } = stored.log;
    const committed =
      dto.consumer === undefined
        ? undefined
        : this.store.journal<number>(dto.topic, CONSUMERS_JOURNAL).get(dto.consumer);
    if (committed !== undefined) return Math.max(committed, firstOffset);
    const from = dto.from ?? (dto.consumer === undefined ? 'latest' : 'earliest');
    if (from === 'earliest') return firstOffset;
    const end = this.store.readableEnd(stored);
    if (from === 'latest') return end;
    return Math.min(Math.max(from, firstOffset), end);
  }

  /**
   * Pumps once the appends and acks already queued have run: publishes and
   * deliveries arrive in bursts (one socket read holds many), and one frame
   * for the burst costs the peer one write and the client one parse, where a
   * frame per append would cost one each per message.
   */
  private schedulePump(stream: LiveStream): void {
    if (stream.pumpScheduled) return;
    stream.pumpScheduled = true;
    setImmediate(() => {
      stream.pumpScheduled = false;
      this.pump(stream);
    });
  }

  /** Sends what the credit allows of what is there. */
  private pump(stream: LiveStream): void {
    if (!this.streams.has(stream.id)) return;
    const current = this.store.get(stream.topic);
    if (current !== stream.stored) {
      // A new incarnation is no reason to stop following: the client starts
      // a new stream, whose `started` frame tells it offsets started again.
      if (current) {
        const changed = new StaleEpochError(stream.topic, stream.stored.epoch, current.epoch);
        this.end(stream, 'the topic is a new incarnation', changed);
      } else {
        this.end(stream, 'the topic went away', new NotSubscribedError(stream.topic));
      }
      return;
    }
    const { log } = stream.stored;
    const end = this.store.readableEnd(stream.stored);
    while (stream.next < end) {
      const room = stream.credit - (stream.next - stream.acked);
      if (room <= 0) return;
      const start = Math.max(stream.next, log.firstOffset);
      const records = log
        .read(start, Math.min(room, MAX_FRAME_MESSAGES), this.config.maxMessageBytes)
        .filter((record) => record.offset < end);
      const nextOffset = records.length > 0 ? records[records.length - 1].offset + 1 : end;
      const messages: PulledMessage[] = records.map(({ offset, message, publishedAt }) => ({
        offset,
        message,
        publishedAt,
      }));
      const skipped = nextOffset - stream.next - records.length;
      stream.next = nextOffset;
      this.send(stream, { type: 'messages', messages, nextOffset, skipped });
    }
  }

  /** Heartbeat: says the stream is alive when idle, and ends it when the client went silent. */
  private beat(stream: LiveStream): void {
    const now = Date.now();
    if (now - stream.lastHeardAt > stream.heartbeatMs * CONSUME_HEARTBEATS_MISSED) {
      this.end(stream, `no word from its client for ${now - stream.lastHeardAt} ms`);
      return;
    }
    if (now - stream.lastSentAt >= stream.heartbeatMs) this.send(stream, { type: 'heartbeat' });
  }

  private send(stream: LiveStream, frame: ConsumeFrame): void {
    stream.lastSentAt = Date.now();
    stream.subscriber.next(frame);
  }

  /** Ends the stream: with an error reply, or completed (the client connects again). */
  private end(stream: LiveStream, why: string, error?: PubSubError): void {
    if (!this.forget(stream)) return;
    this.logger.log(`${describe(stream)}: stream ${stream.id} ended (${why})`);
    if (error) stream.subscriber.error(error);
    else stream.subscriber.complete();
  }

  private forget(stream: LiveStream): boolean {
    if (this.streams.get(stream.id) !== stream) return false;
    clearInterval(stream.timer);
    this.streams.delete(stream.id);
    const byTopic = this.byTopic.get(stream.topic);
    byTopic?.delete(stream);
    if (byTopic?.size === 0) this.byTopic.delete(stream.topic);
    return true;
  }
}

function describe(stream: LiveStream): string {
  return stream.consumer === undefined
    ? `'${stream.topic}'`
    : `consumer '${stream.consumer}' of '${stream.topic}'`;
}
