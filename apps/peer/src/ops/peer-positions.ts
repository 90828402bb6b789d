import { Injectable } from '@nestjs/common';
import { ConsumerListResult } from '@p2p-pubsub/protocol';
import { ConsumersService } from '../consumers/consumers.service';
import { DeliveryService } from '../delivery/delivery.service';
import { LogStore } from '../log/log-store';

type ConsumerPosition = ConsumerListResult['consumers'][number];
export type SubscriberPosition = ConsumerListResult['subscribers'][number] & {
  /** Bytes on disk still to deliver (to within 4 KiB). */
  lagBytes: number;
};

/**
 * Where every reader of this peer's logs stands: local named consumers, and
 * the subscriber peers of the topics it hosts. Read from the services'
 * own state when asked (list_consumers, a scrape); nothing is kept here.
 * The end is what a reader can get: for FSYNC=always, what is synced.
 */
@Injectable()
export class PeerPositions {
  constructor(
    private readonly store: LogStore,
    private readonly delivery: DeliveryService,
    private readonly consumers: ConsumersService,
  ) {}

  subscribers(topic?: string): SubscriberPosition[] {
    const positions: SubscriberPosition[] = [];
    for (const cursor of this.delivery.cursorPositions()) {
      if (topic !== undefined && cursor.topic !== topic) continue;
      const stored = this.store.get(cursor.topic);
      if (!stored) continue;
      const endOffset = this.store.readableEnd(stored);
      const lag = Math.max(0, endOffset - cursor.nextOffset);
      positions.push({
        topic: cursor.topic,
        peerId: cursor.peerId,
        nextOffset: cursor.nextOffset,
        endOffset,
        lag,
        retries: cursor.retries,
        lagBytes:
          lag === 0
            ? 0
            : Math.max(
                0,
                stored.log.bytesFrom(cursor.nextOffset) - stored.log.bytesFrom(endOffset),
              ),
      });
    }
    return positions;
  }

  consumerPositions(topic?: string): ConsumerPosition[] {
    const positions: ConsumerPosition[] = [];
    for (const position of this.consumers.positions()) {
      if (topic !== undefined && position.topic !== topic) continue;
      const stored = this.store.get(position.topic);
      if (!stored) continue;
      const endOffset = this.store.readableEnd(stored);
      positions.push({
        ...position,
        endOffset,
        lag: Math.max(0, endOffset - position.nextOffset),
      });
    }
    return positions;
  }

  /** Each topic log's end offset, hosted and replicated. */
  *endOffsets(): Iterable<{ topic: string; role: string; endOffset: number }> {
    for (const role of ['hosted', 'replica'] as const) {
      for (const topic of this.store.topicsWithRole(role)) {
        const stored = this.store.get(topic);
        if (stored) yield { topic, role, endOffset: stored.log.nextOffset };
      }
    }
  }
}
