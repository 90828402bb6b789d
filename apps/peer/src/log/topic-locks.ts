import { Injectable } from '@nestjs/common';

/**
 * Serialises changes to one topic on this peer (create, delete, subscribe,
 * replacing a replica by a new incarnation), and remembers when each topic
 * last changed, on a counter rather than a clock: a topic list the indexer
 * sent in answer to a request made before a change finished says nothing
 * about that topic (see TopicsService.reconcile).
 */
@Injectable()
export class TopicLocks {
  private readonly tails = new Map<string, Promise<void>>();
  /** The counter value when each topic's last change finished; Infinity while one runs. */
  private readonly changedAt = new Map<string, number>();
  private counter = 0;

  /** The next value of the counter: taken when a request goes out, or a change ends. */
  tick(): number {
    return ++this.counter;
  }

  /** Runs `work` once every earlier change of `topic` has finished. */
  async run<T>(topic: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(topic) ?? Promise.resolve();
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(topic, tail);
    await previous;
    this.changedAt.set(topic, Infinity);
    try {
      return await work();
    } finally {
      this.changedAt.set(topic, this.tick());
      if (this.tails.get(topic) === tail) this.tails.delete(topic);
      release();
    }
  }

  /** Whether `topic` is changing now or finished changing after the counter read `since`. */
  changedSince(topic: string, since: number): boolean {
    return (this.changedAt.get(topic) ?? -1) >= since;
  }

  /** Forgets changes that finished before `since`: no answer still to come can predate them. */
  forgetBefore(since: number): void {
    for (const [topic, at] of this.changedAt) if (at < since) this.changedAt.delete(topic);
  }
}
