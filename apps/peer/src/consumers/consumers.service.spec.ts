// Guards at-least-once delivery to consumers, with a fake log store and fake
// client connections: a consumer moves only over replies that reached their
// client, in offset order; pipelined pulls of a live client still get
// successive batches; a lost reply is handed out again (never skipped); a
// long poll whose client left consumes nothing; `autoAck: false` and `ack`
// move the position only when told; a position never lands in another
// incarnation of its topic, or moves without its durable write.
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IncarnationReset, LimitExceededError, PubSubError } from '@p2p-pubsub/protocol';
import type { ClientConnection } from '@p2p-pubsub/server';
import { LogStore, StoredTopic } from '../log/log-store';
import { LogRecord, TopicLog } from '../log/topic-log';
import { PeerConfig } from '../peer.config';
import { ConsumersService } from './consumers.service';

class FakeLog implements Partial<TopicLog> {
  records: LogRecord[] = [];
  firstOffset = 0;

  get nextOffset(): number {
    return this.records.length > 0 ? this.records[this.records.length - 1].offset + 1 : 0;
  }

  read(fromOffset: number, maxRecords: number): LogRecord[] {
    return this.records.filter((record) => record.offset >= fromOffset).slice(0, maxRecords);
  }
}

class FakeJournal {
  readonly values = new Map<string, number>();
  failWrites = false;

  get(key: string): number | undefined {
    return this.values.get(key);
  }

  /** As StateJournal: a failed write throws and moves nothing; a good one resolves once durable. */
  set(key: string, value: number): Promise<void> {
    if (this.failWrites) throw new Error('ENOSPC: no space left on device');
    this.values.set(key, value);
    return Promise.resolve();
  }
}

/** The part of LogStore consumers use, holding topics in memory. */
class FakeStore {
  readonly topics = new Map<string, StoredTopic & { log: FakeLog; journal: FakeJournal }>();
  /** Incarnation switches still to be told, by topic and consumer. */
  readonly resets = new Map<string, IncarnationReset>();
  private readonly appended: Array<(topic: string) => void> = [];
  private readonly dropped: Array<(topic: string) => void> = [];

  open(topic: string, incarnation = 'i1') {
    const stored = {
      role: 'hosted' as const,
      incarnation,
      log: new FakeLog(),
      journal: new FakeJournal(),
    };
    this.topics.set(topic, stored as never);
    return stored;
  }

  publish(topic: string, ...messages: string[]): void {
    const { log } = this.topics.get(topic)!;
    for (const message of messages) {
      log.records.push({ offset: log.nextOffset, message, publishedAt: 1 });
    }
    this.appended.forEach((listener) => listener(topic));
  }

  drop(topic: string): void {
    this.topics.delete(topic);
    this.dropped.forEach((listener) => listener(topic));
  }

  get(topic: string) {
    return this.topics.get(topic);
  }

  readableEnd(stored: { log: FakeLog }): number {
    return stored.log.nextOffset;
  }

  journal(topic: string): FakeJournal {
    return this.topics.get(topic)!.journal;
  }

  pendingReset(topic: string, consumer: string): IncarnationReset | undefined {
    return this.resets.get(`${topic}/${consumer}`);
  }

  async clearReset(topic: string, consumer: string): Promise<void> {
    this.resets.delete(`${topic}/${consumer}`);
  }

  onAppend(listener: (topic: string) => void): void {
    this.appended.push(listener);
  }

  onDrop(listener: (topic: string) => void): void {
    this.dropped.push(listener);
  }
}

/** A client's connection whose replies the test hands over or loses one by one. */
class FakeConnection implements ClientConnection {
  open = true;
  full = false;
  readonly replies: Array<{ reply: object; bytes: number; settled: (ok: boolean) => void }> = [];
  private readonly listeners = new Set<() => void>();

  onClose(listener: () => void): () => void {
    if (!this.open) {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  assertReplyRoom(): void {
    if (this.full) throw new LimitExceededError('full', { limit: 'MAX_QUEUED_REPLY_BYTES' });
  }

  trackReply(reply: object, bytes: number, settled: (ok: boolean) => void): void {
    this.replies.push({ reply, bytes, settled });
  }

  /** Settles the reply carrying `reply`. */
  settle(reply: object, handedOver: boolean): void {
    this.replies.find((tracked) => tracked.reply === reply)!.settled(handedOver);
  }

  close(): void {
    this.open = false;
    this.listeners.forEach((listener) => listener());
    this.listeners.clear();
  }
}

const offsets = (reply: { messages: Array<{ offset: number }> }) =>
  reply.messages.map((message) => message.offset);

describe('ConsumersService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  let store: FakeStore;
  let consumers: ConsumersService;
  let client: FakeConnection;

  beforeEach(async () => {
    store = new FakeStore();
    const module = await Test.createTestingModule({
      providers: [
        ConsumersService,
        { provide: PeerConfig, useValue: Object.assign(new PeerConfig(), {}) },
        { provide: LogStore, useValue: store },
      ],
    }).compile();
    await module.init();
    consumers = module.get(ConsumersService);
    client = new FakeConnection();
    store.open('Sports');
  });

  const committed = (consumer = 'default') => store.journal('Sports').get(consumer);

  it('moves the consumer only once its reply has reached the client', async () => {
    store.publish('Sports', 'a', 'b');
    const reply = await consumers.pull({ topic: 'Sports' }, client);
    expect(offsets(reply)).toEqual([0, 1]);
    expect(committed()).toBeUndefined();
    client.settle(reply, true);
    expect(committed()).toBe(2);
  });

  it('gives pipelined pulls of a live client successive batches, and commits them in order', async () => {
    store.publish('Sports', 'a', 'b', 'c', 'd');
    const first = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    const second = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    expect([offsets(first), offsets(second)]).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // The second reply reached the client first: nothing commits past the first.
    client.settle(second, true);
    expect(committed()).toBeUndefined();
    client.settle(first, true);
    expect(committed()).toBe(4);
  });

  it('hands a lost reply out again, with what came after it: duplicates only after a loss', async () => {
    store.publish('Sports', 'a', 'b', 'c', 'd', 'e', 'f');
    const first = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    const second = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    const third = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    client.settle(first, true);
    client.settle(second, false);
    client.settle(third, true);
    expect(committed()).toBe(2);
    const again = await consumers.pull({ topic: 'Sports', max: 10 }, client);
    expect(offsets(again)).toEqual([2, 3, 4, 5]);
    client.settle(again, true);
    expect(committed()).toBe(6);
  });

  it('answers a long poll whose client left at once, and hands out nothing', async () => {
    const polling = consumers.pull({ topic: 'Sports', waitMs: 60_000 }, client);
    client.close();
    const reply = await polling;
    expect(reply.messages).toEqual([]);
    expect(client.replies).toEqual([]);
    store.publish('Sports', 'first');
    const next = new FakeConnection();
    const reply2 = await consumers.pull({ topic: 'Sports' }, next);
    expect(offsets(reply2)).toEqual([0]);
  });

  it('wakes a long poll when a message arrives and moves the consumer once it is handed over', async () => {
    const polling = consumers.pull({ topic: 'Sports', waitMs: 60_000 }, client);
    store.publish('Sports', 'news');
    const reply = await polling;
    expect(offsets(reply)).toEqual([0]);
    client.settle(reply, true);
    expect(committed()).toBe(1);
  });

  it('leaves the position alone with autoAck false, until an ack moves it forward', async () => {
    store.publish('Sports', 'a', 'b', 'c');
    const first = await consumers.pull({ topic: 'Sports', max: 2, autoAck: false }, client);
    client.settle(first, true);
    const again = await consumers.pull({ topic: 'Sports', max: 2, autoAck: false }, client);
    expect([offsets(first), offsets(again)]).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(committed()).toBeUndefined();
    expect(
      (await consumers.ack({ topic: 'Sports', nextOffset: first.nextOffset })).nextOffset,
    ).toBe(2);
    // Idempotent, and never backwards.
    expect((await consumers.ack({ topic: 'Sports', nextOffset: 2 })).nextOffset).toBe(2);
    expect((await consumers.ack({ topic: 'Sports', nextOffset: 1 })).nextOffset).toBe(2);
    const rest = await consumers.pull({ topic: 'Sports', autoAck: false }, client);
    expect(offsets(rest)).toEqual([2]);
  });

  it('refuses an ack past the end of the topic, moving nothing', async () => {
    store.publish('Sports', 'a');
    await expect(consumers.ack({ topic: 'Sports', nextOffset: 2 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(committed()).toBeUndefined();
  });

  it('lets an ack cover replies still on their way, and commits the ones after it once handed over', async () => {
    store.publish('Sports', 'a', 'b', 'c', 'd');
    const first = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    const second = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    await consumers.ack({ topic: 'Sports', nextOffset: 2 });
    expect(committed()).toBe(2);
    client.settle(first, false);
    client.settle(second, true);
    expect(committed()).toBe(4);
  });

  it('never moves a position back behind one a consume_ack moved meanwhile', async () => {
    store.publish('Sports', 'a', 'b', 'c', 'd');
    const reply = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    // What consume_ack does: the journal alone.
    await store.journal('Sports').set('default', 4);
    client.settle(reply, true);
    expect(committed()).toBe(4);
    expect(offsets(await consumers.pull({ topic: 'Sports' }, client))).toEqual([]);
  });

  it('replays from an offset without moving any consumer', async () => {
    store.publish('Sports', 'a', 'b');
    const reply = await consumers.pull({ topic: 'Sports', fromOffset: 1 }, client);
    client.settle(reply, true);
    expect(offsets(reply)).toEqual([1]);
    expect(committed()).toBeUndefined();
    expect(client.replies[0].bytes).toBeGreaterThan(0);
  });

  it('keeps consumers apart', async () => {
    store.publish('Sports', 'a');
    const mine = await consumers.pull({ topic: 'Sports', consumer: 'mine' }, client);
    const yours = await consumers.pull({ topic: 'Sports', consumer: 'yours' }, client);
    client.settle(mine, true);
    client.settle(yours, false);
    expect([committed('mine'), committed('yours')]).toEqual([1, undefined]);
  });

  it('commits at once for a caller inside the process (no connection)', async () => {
    store.publish('Sports', 'a');
    await consumers.pull({ topic: 'Sports' });
    expect(committed()).toBe(1);
  });

  it('refuses a pull when the client holds too many unread replies, reading nothing', async () => {
    store.publish('Sports', 'a');
    client.full = true;
    await expect(consumers.pull({ topic: 'Sports' }, client)).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    client.full = false;
    expect(offsets(await consumers.pull({ topic: 'Sports' }, client))).toEqual([0]);
  });

  it('never writes a position into a topic created again while a reply was on its way', async () => {
    store.publish('Sports', 'a', 'b');
    const reply = await consumers.pull({ topic: 'Sports' }, client);
    store.drop('Sports');
    store.open('Sports');
    client.settle(reply, true);
    expect(committed()).toBeUndefined();
  });

  it('keeps a hand-over it could not save, refuses the next pull until it is saved, then goes on without a duplicate', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    store.publish('Sports', 'a', 'b', 'c');
    const reply = await consumers.pull({ topic: 'Sports', max: 2 }, client);
    store.journal('Sports').failWrites = true;
    client.settle(reply, true);
    expect(committed()).toBeUndefined();
    expect(logged).toHaveBeenCalledWith(
      expect.stringMatching(/could not save the position of consumer 'default' of 'Sports'/),
    );
    await expect(consumers.pull({ topic: 'Sports' }, client)).rejects.toThrow(/ENOSPC/);
    // Reads that move nothing go on.
    expect(offsets(await consumers.pull({ topic: 'Sports', fromOffset: 0 }, client))).toEqual([
      0, 1, 2,
    ]);
    store.journal('Sports').failWrites = false;
    const next = await consumers.pull({ topic: 'Sports' }, client);
    expect(committed()).toBe(2);
    expect(offsets(next)).toEqual([2]);
    logged.mockRestore();
  });

  it('refuses an ack whose write failed, moving nothing', async () => {
    store.publish('Sports', 'a');
    store.journal('Sports').failWrites = true;
    await expect(consumers.ack({ topic: 'Sports', nextOffset: 1 })).rejects.toThrow(/ENOSPC/);
    store.journal('Sports').failWrites = false;
    expect(committed()).toBeUndefined();
  });

  it('counts what retention removed before a consumer got to it', async () => {
    store.publish('Sports', 'a', 'b', 'c');
    const first = await consumers.pull({ topic: 'Sports', max: 1 }, client);
    client.settle(first, true);
    const { log } = store.topics.get('Sports')!;
    log.records = log.records.filter((record) => record.offset >= 2);
    log.firstOffset = 2;
    const reply = await consumers.pull({ topic: 'Sports' }, client);
    expect({ offsets: offsets(reply), skipped: reply.skipped }).toEqual({
      offsets: [2],
      skipped: 1,
    });
  });

  it('tells a consumer of an incarnation switch in each reply until one that moves it has reached it', async () => {
    const reset = { previousIncarnation: 'i0', unread: 3 };
    store.resets.set('Sports/default', reset);
    store.publish('Sports', 'a', 'b');
    const lost = await consumers.pull({ topic: 'Sports', max: 1 }, client);
    expect(lost).toMatchObject({ incarnation: 'i1', reset });
    client.settle(lost, false);
    const peek = await consumers.pull({ topic: 'Sports', autoAck: false }, client);
    expect(peek.reset).toEqual(reset);
    const told = await consumers.pull({ topic: 'Sports', max: 1 }, client);
    expect(told.reset).toEqual(reset);
    client.settle(told, true);
    expect(store.resets.size).toBe(0);
    expect((await consumers.pull({ topic: 'Sports' }, client)).reset).toBeUndefined();
  });

  it('says NOT_SUBSCRIBED for a topic this peer does not hold', async () => {
    const error = await consumers.pull({ topic: 'Nowhere' }, client).catch((caught) => caught);
    expect(error).toBeInstanceOf(PubSubError);
    expect(error.code).toBe('NOT_SUBSCRIBED');
  });
});
