// Guards the one retry schedule: it doubles up to its ceiling, every delay
// is jittered below its step (never above, so a bound such as "retry until
// the request timeout" holds), and a reset starts over.
import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const backoff = new Backoff({ initialMs: 50, maxMs: 500, jitter: 0 });
    expect(Array.from({ length: 6 }, () => backoff.next())).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoff.attempts).toBe(6);
  });

  it('draws each delay from the lower part of its step', () => {
    const lowest = new Backoff({
      initialMs: 100,
      maxMs: 1_000,
      jitter: 0.5,
      random: () => 0.999999,
    });
    const highest = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0.5, random: () => 0 });
    expect([lowest.next(), lowest.next()]).toEqual([50, 100]);
    expect([highest.next(), highest.next()]).toEqual([100, 200]);
  });

  it('starts over after a reset', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 1_000, jitter: 0 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(10);
  });
});
