/**
 * The log abstraction every service goes through: an append-only sequence of
 * records with contiguous, never-reused offsets on the host, and the host's
 * offsets (possibly with gaps left by retention) on a subscriber's replica.
 */
export interface LogRecord {
  offset: number;
  message: string;
  /** Milliseconds since the epoch, stamped by the host on append. */
  publishedAt: number;
}

export interface TopicLog {
  /** Oldest offset still held; equals nextOffset when the log is empty. */
  readonly firstOffset: number;
  /** The offset the next record gets (host) or is expected at (replica). */
  readonly nextOffset: number;
  /** Host side: stamps the next offset. */
  append(message: string, publishedAt: number): LogRecord;
  /**
   * Replica side: stores a record under the host's offset. Returns false for
   * a duplicate (an offset already held or passed), which is dropped.
   */
  appendReplica(record: LogRecord): boolean;
  /** Records from `fromOffset` on, at most `maxRecords` and about `maxBytes`. */
  read(fromOffset: number, maxRecords: number, maxBytes: number): LogRecord[];
  /** Drops every record below `offset`. */
  trimBefore(offset: number): void;
  /** Releases the log and deletes what it stored. */
  destroy(): Promise<void>;
}

/** Rough bytes a record occupies in memory and on the wire. */
export function recordSize(record: LogRecord): number {
  return record.message.length + 48;
}
