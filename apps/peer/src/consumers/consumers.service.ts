import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { NotSubscribedError, PullDto, PullResult } from '@app/protocol';
import { LogStore } from '../log/log-store';
import { PeerConfig } from '../peer.config';

const DEFAULT_CONSUMER = 'default';
const DEFAULT_PULL_MAX = 100;

/**
 * Local consumers: each named consumer has a position per topic on this peer
 * and pulls what lies past it, in offset order, once.
 */
@Injectable()
export class ConsumersService implements OnModuleInit {
  /** topic -> consumer -> next offset to hand out. */
  private readonly positions = new Map<string, Map<string, number>>();
  /** Long polls parked until their topic grows or goes away. */
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    @Inject(PeerConfig) private readonly config: PeerConfig,
    private readonly store: LogStore,
  ) {}

  onModuleInit(): void {
    this.store.onAppend((topic) => this.wakeWaiters(topic));
    this.store.onDrop((topic) => {
      this.positions.delete(topic);
      this.wakeWaiters(topic);
    });
  }

  async pull(dto: PullDto): Promise<PullResult> {
    const result = this.read(dto);
    if (result.messages.length > 0 || !dto.waitMs) return result;
    await this.waitForAppend(dto.topic, dto.waitMs);
    return this.read(dto);
  }

  private read(dto: PullDto): PullResult {
    const stored = this.store.get(dto.topic);
    if (!stored) throw new NotSubscribedError(dto.topic);
    const { log } = stored;
    const consumer = dto.consumer ?? DEFAULT_CONSUMER;
    const replay = dto.fromOffset !== undefined;
    const position = replay ? dto.fromOffset : this.positions.get(dto.topic)?.get(consumer);

    const start = position === undefined ? log.firstOffset : Math.max(position, log.firstOffset);
    const skipped = position === undefined ? 0 : Math.max(0, log.firstOffset - position);
    // Bound the reply by bytes as well as count so it always fits one frame.
    const records = log.read(start, dto.max ?? DEFAULT_PULL_MAX, this.config.maxMessageBytes);
    const nextOffset = records.length > 0 ? records[records.length - 1].offset + 1 : start;
    if (!replay && (records.length > 0 || position !== undefined)) {
      this.positionsOf(dto.topic).set(consumer, nextOffset);
    }
    return {
      status: 'success',
      message: `${records.length} message(s) pulled from topic '${dto.topic}'`,
      topic: dto.topic,
      consumer,
      messages: records.map(({ offset, message, publishedAt }) => ({ offset, message, publishedAt })),
      nextOffset,
      skipped,
    };
  }

  private positionsOf(topic: string): Map<string, number> {
    let positions = this.positions.get(topic);
    if (!positions) {
      positions = new Map();
      this.positions.set(topic, positions);
    }
    return positions;
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
