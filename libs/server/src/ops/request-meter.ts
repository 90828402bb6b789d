import { ErrorCodes } from '@p2p-pubsub/protocol';

/** The label of requests for a pattern no handler serves: the wire cannot choose label values. */
export const UNKNOWN_PATTERN = 'unknown';

/**
 * Requests and error replies by pattern, as plain numbers (see metrics.ts):
 * counting a request is one map lookup and one increment. Only patterns a
 * handler serves get their own series, so a client sending made-up patterns
 * cannot grow the label set.
 */
export class RequestMeter {
  private readonly requests = new Map<string, { count: number }>();
  private readonly unknown = { count: 0 };
  /** pattern, then code. */
  private readonly errors = new Map<string, Map<string, number>>();

  /**
   * Called by the server for every request, with whether a handler serves
   * its pattern; one that none does is answered with an error that never
   * reaches the exception filter (UNKNOWN_COMMAND to a bare client).
   */
  countRequest(pattern: string, served: boolean): void {
    let entry = this.requests.get(pattern);
    if (entry === undefined) {
      if (!served) {
        this.unknown.count++;
        this.countError(UNKNOWN_PATTERN, ErrorCodes.UnknownCommand);
        return;
      }
      entry = { count: 0 };
      this.requests.set(pattern, entry);
    }
    entry.count++;
  }

  /** Called for every error reply (the exception filter, and the server for an unknown pattern). */
  countError(pattern: string, code: string): void {
    const label = this.requests.has(pattern) ? pattern : UNKNOWN_PATTERN;
    let byCode = this.errors.get(label);
    if (!byCode) {
      byCode = new Map();
      this.errors.set(label, byCode);
    }
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  *requestCounts(): Iterable<readonly [pattern: string, count: number]> {
    for (const [pattern, entry] of this.requests) yield [pattern, entry.count];
    if (this.unknown.count > 0) yield [UNKNOWN_PATTERN, this.unknown.count];
  }

  *errorCounts(): Iterable<readonly [pattern: string, code: string, count: number]> {
    for (const [pattern, byCode] of this.errors) {
      for (const [code, count] of byCode) yield [pattern, code, count];
    }
  }
}
