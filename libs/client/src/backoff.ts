export interface BackoffOptions {
  /** The first delay. */
  initialMs: number;
  /** Delays double up to this. */
  maxMs: number;
  /**
   * Each delay is drawn from [delay × (1 - jitter), delay]: retries of many
   * callers that failed together (a host that went away) spread out instead
   * of arriving together. 0.5 unless given.
   */
  jitter?: number;
  /** For tests: a source of numbers in [0, 1). */
  random?: () => number;
}

/**
 * Exponential backoff with jitter, the one used for every retry here:
 * forwarding to a restarting host, delivery to an unreachable subscriber,
 * registration with an unreachable indexer.
 *
 *   const backoff = new Backoff({ initialMs: 50, maxMs: 5_000 });
 *   await sleep(backoff.next());   // 25-50 ms, then 50-100 ms, ...
 *   backoff.reset();               // after a success
 */
export class Backoff {
  private attempt = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next retry. */
  next(): number {
    const { initialMs, maxMs, jitter = 0.5, random = Math.random } = this.options;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling * (1 - jitter * random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
