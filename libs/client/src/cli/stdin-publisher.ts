import { createInterface } from 'readline';
import { PubSubError } from '@p2p-pubsub/protocol';
import type { PeerClient } from '../peer-client';

export interface StdinPublishOptions {
  /** Stop after this many messages. */
  count?: number;
  /** At most this many messages a second. */
  ratePerSecond?: number;
  /** Publishes in flight at once: enough to keep one connection busy. */
  window?: number;
}

export interface StdinPublishResult {
  published: number;
  elapsedMs: number;
  /** The first failure; publishing stopped there. */
  error?: PubSubError;
}

/**
 * Publishes each line of `lines` as one message, `window` publishes in
 * flight, in line order on one connection. Reading waits while the window
 * is full, so a large input is never held in memory. Stops at the first
 * failure, after the publishes already in flight have settled.
 */
export async function publishLines(
  peer: PeerClient,
  topic: string,
  lines: AsyncIterable<string>,
  options: StdinPublishOptions,
  signal: AbortSignal,
): Promise<StdinPublishResult> {
  const window = options.window ?? 256;
  const started = performance.now();
  let inFlight = 0;
  let published = 0;
  let error: PubSubError | undefined;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const room = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  let sent = 0;
  for await (const line of lines) {
    if (error || signal.aborted) break;
    if (options.count !== undefined && sent >= options.count) break;
    if (options.ratePerSecond) {
      const due = started + (sent * 1000) / options.ratePerSecond;
      const waitMs = due - performance.now();
      if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    while (inFlight >= window) await room();
    if (error) break;
    inFlight++;
    sent++;
    peer.publish(topic, line).then(
      () => {
        published++;
        settled();
      },
      (failure: unknown) => {
        error ??=
          failure instanceof PubSubError ? failure : new PubSubError('INTERNAL', String(failure));
        settled();
      },
    );
  }
  while (inFlight > 0) await room();
  return { published, elapsedMs: performance.now() - started, error };
}

/** The lines of a stream, without their line endings. */
export function linesOf(input: NodeJS.ReadableStream): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Infinity });
}

/** `message`, `count` times. */
export async function* repeated(message: string, count: number): AsyncIterable<string> {
  for (let index = 0; index < count; index++) yield message;
}
