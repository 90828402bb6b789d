import { performance } from 'perf_hooks';
import { LatencyRecorder } from '../latency-recorder';

export interface FanOutShape {
  messages: number;
  maxMs: number;
  /** Publish requests awaiting their reply, at most. */
  inFlight: number;
  /** Messages published but not yet received by every consumer, at most. */
  window: number;
}

export interface FanOutResult {
  /** Messages received, summed over consumers, per second. */
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  published: number;
}

/**
 * One fan-out run, the same for our peers and for Nest over NATS: a
 * publisher keeps at most `window` messages ahead of the slowest consumer
 * (so the rate it drives is what the system sustains, with no backlog
 * growing for the length of the run), each consumer reports what it
 * received with each message's publish-to-consumer latency, and the run
 * ends when every consumer has every message.
 */
export class FanOutMeter {
  readonly latency = new LatencyRecorder();
  private readonly received: number[];
  private published = 0;
  private publishing = true;
  private ended = false;
  private startedAt = 0;
  private lastDeliveryAt = 0;
  private wakeUps: Array<() => void> = [];
  private failure?: Error;

  constructor(
    consumers: number,
    private readonly shape: FanOutShape,
  ) {
    this.received = Array.from({ length: consumers }, () => 0);
  }

  /** Adds receipts for one consumer, with the latency of each message. */
  delivered(consumer: number, latenciesMs: readonly number[]): void {
    this.received[consumer] += latenciesMs.length;
    for (const latency of latenciesMs) this.latency.record(latency);
    this.lastDeliveryAt = performance.now();
    this.wake();
  }

  /** Whether `consumer` can stop: it has everything the publisher sent, or the run is over. */
  isDone(consumer: number): boolean {
    return this.ended || (!this.publishing && this.received[consumer] >= this.published);
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  /**
   * Publishes with `shape.inFlight` concurrent callers until the count or
   * the time bound is reached, then waits for every consumer to catch up.
   * A failed publish, or a consumer's failure, fails the run, and so do
   * messages that never arrive: the whole run is bounded by `shape.maxMs`
   * plus `drainTimeoutMs`.
   */
  async run(publish: () => Promise<unknown>, drainTimeoutMs: number): Promise<FanOutResult> {
    const giveUp = setTimeout(
      () =>
        this.fail(
          new Error(
            `fan-out: consumers received ${this.received.join('/')} of ${this.published} message(s) in time`,
          ),
        ),
      this.shape.maxMs + drainTimeoutMs,
    );
    try {
      return await this.publishAndDrain(publish);
    } finally {
      clearTimeout(giveUp);
      this.ended = true;
    }
  }

  private async publishAndDrain(publish: () => Promise<unknown>): Promise<FanOutResult> {
    this.startedAt = performance.now();
    const deadline = this.startedAt + this.shape.maxMs;
    const caller = async () => {
      while (this.published < this.shape.messages && performance.now() < deadline) {
        await this.until(() => this.published - Math.min(...this.received) < this.shape.window);
        if (this.published >= this.shape.messages) break;
        this.published++;
        await publish();
      }
    };
    await Promise.all(
      Array.from({ length: this.shape.inFlight }, () =>
        caller().catch((error: Error) => this.fail(error)),
      ),
    );
    this.publishing = false;
    this.wake();
    await this.until(() => this.received.every((count) => count >= this.published));
    const elapsedMs = this.lastDeliveryAt - this.startedAt;
    return {
      deliveredPerSecond: (this.published * this.received.length * 1000) / elapsedMs,
      p50Ms: this.latency.percentile(50),
      p99Ms: this.latency.percentile(99),
      published: this.published,
    };
  }

  /** Resolves once `condition` holds; re-checked whenever a delivery or failure wakes it. */
  private async until(condition: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (condition()) return;
      await new Promise<void>((resolve) => this.wakeUps.push(resolve));
    }
  }

  private wake(): void {
    const wakeUps = this.wakeUps;
    this.wakeUps = [];
    for (const wakeUp of wakeUps) wakeUp();
  }
}
