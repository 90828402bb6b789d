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

/**
 * How much a log keeps. Whole segments go, oldest first, once the rest
 * still satisfies a limit, so a log keeps at least `maxMessages` messages or
 * `maxBytes` bytes (and at most one segment more), and a segment goes once
 * all of its messages are older than `maxAgeMs`.
 */
export interface RetentionPolicy {
  maxMessages: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface TopicLog {
  /** Oldest offset still held; equals nextOffset when the log is empty. */
  readonly firstOffset: number;
  /** The offset the next record gets (host) or is expected at (replica). */
  readonly nextOffset: number;
  /** Every record below this offset is on stable storage (synced). */
  readonly syncedOffset: number;
  /**
   * Host side: stamps the next offset. The record is written to the file
   * (the OS page cache) when this returns: it survives the process being
   * killed; `sync` makes it survive a power loss.
   */
  append(message: string, publishedAt: number): LogRecord;
  /**
   * Replica side: stores a record under the host's offset. Returns false for
   * a duplicate (an offset already held or passed), which is dropped.
   */
  appendReplica(record: LogRecord): boolean;
  /**
   * Bytes on disk of the records at or after `fromOffset`, to within one
   * index interval (4 KiB) per segment: read from the index, not the file.
   */
  bytesFrom(fromOffset: number): number;
  /** Records from `fromOffset` on, at most `maxRecords` and about `maxBytes`. */
  read(fromOffset: number, maxRecords: number, maxBytes: number): LogRecord[];
  /** Applies the retention policy as of `now`; returns how many records went. */
  trim(now: number): number;
  /** Resolves once everything appended so far is on stable storage. */
  sync(): Promise<void>;
  /** Syncs and releases the log; its files stay. */
  close(): Promise<void>;
  /** Releases the log and deletes what it stored. */
  destroy(): Promise<void>;
}
