import { performance } from 'perf_hooks';

/**
 * Wall-clock milliseconds with sub-millisecond resolution. Every process on
 * the machine reads the same clock, so a time stamped into a message by the
 * publisher can be subtracted from the time a subscriber process receives it.
 */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A message of exactly `sizeBytes` ASCII bytes that starts with the time it
 * was made, so whoever receives it can tell how long it took to arrive.
 */
export function stampedMessage(sizeBytes: number): string {
  const stamp = `${wallClockMs().toFixed(3)}|`;
  return stamp.padEnd(sizeBytes, 'x');
}

/** Milliseconds since `message` was made by stampedMessage. */
export function ageOf(message: string): number {
  return wallClockMs() - Number.parseFloat(message);
}
