import { mkdirSync, readdirSync } from 'fs';
import { OpenFiles } from './open-files';
import { encodeRecord } from './record-format';
import { ReadBudget, Segment } from './segment';
import { atStorage, storageError, syncError } from './storage-errors';
import { LogRecord, RetentionPolicy, TopicLog } from './topic-log';

/**
 * Encoding buffer shared by every log: an append encodes and writes
 * synchronously, so no two appends ever use it at once.
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

interface SyncWaiter {
  /** The append count this waiter needs synced. */
  target: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface LogReporter {
  warn(message: string): void;
}

export interface SegmentLogOptions {
  dir: string;
  /** A segment is rolled once the next record would take it past this size. */
  segmentBytes: number;
  retention: RetentionPolicy;
  /** Where a log with no segment yet starts (a deleted topic's next offset). */
  startOffset?: number;
  /** Names the log in what recovery reports. */
  name: string;
  reporter: LogReporter;
  /** The peer's descriptors: every segment opens its file through them. */
  files: OpenFiles;
}

/**
 * A TopicLog on disk, in the style of Kafka's and JetStream's file stores:
 * a directory of segment files named by their base offset, appended to at the
 * end of the last one, read through a sparse in-memory index, trimmed by
 * whole segments. An empty last segment still records where the log goes on,
 * so offsets are never reused, also when retention has emptied the log.
 *
 * Appends write straight to the file (the page cache), so a record survives
 * the process being killed the moment `append` returns; `sync` adds
 * fdatasync, with group commit: appends that arrive while a sync runs share
 * the next one.
 *
 * Failures of the file system reach callers as the peer's storage errors
 * (STORAGE_FULL, STORAGE_ERROR, LIMIT_EXCEEDED: see storage-errors.ts), and
 * a failed append leaves the log as it was.
 */
export class SegmentLog implements TopicLog {
  private readonly segments: Segment[];
  private next: number;
  /** Appends counted, and how many of them a finished sync covers. */
  private appended = 0;
  private synced = 0;
  /** The next offset as of the last finished sync. */
  private syncedNext: number;
  /** A new segment file is only durable once its directory is synced too. */
  private directoryDirty = false;
  /** The sync in flight; it settles without rejecting (waiters get the error). */
  private syncing?: Promise<void>;
  private syncWaiters: SyncWaiter[] = [];
  /** Sealed segments holding appends no sync has covered yet; closed once one has. */
  private sealedUnsynced: Segment[] = [];
  private closed = false;

  private constructor(
    private readonly options: SegmentLogOptions,
    segments: Segment[],
    recovered: boolean,
  ) {
    this.segments = segments;
    const last = segments[segments.length - 1];
    this.next = last.count > 0 ? last.lastOffset + 1 : last.baseOffset;
    this.syncedNext = this.next;
    if (recovered) {
      // A killed process may have left records in the page cache only: none
      // counts as synced until the first sync (see LogStore's start-up), which
      // runs on the thread pool: one synchronous fdatasync per log took 8 of
      // 11 s to restart a peer with 2,000 topics after kill -9.
      this.appended = 1;
      this.syncedNext = this.firstOffset;
    }
  }

  /** Opens the log in `dir`, recovering every segment, or creates it empty. */
  static open(options: SegmentLogOptions): SegmentLog {
    return atStorage(`opening the log of '${options.name}'`, () =>
      SegmentLog.openOrCreate(options),
    );
  }

  private static openOrCreate(options: SegmentLogOptions): SegmentLog {
    mkdirSync(options.dir, { recursive: true });
    const baseOffsets = readdirSync(options.dir)
      .map((name) => Segment.parseFileName(name))
      .filter((base): base is number => base !== undefined)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    baseOffsets.forEach((baseOffset, i) => {
      const { segment, damage } = Segment.recover(options.dir, baseOffset, options.files);
      if (damage) {
        const kept =
          damage.lastOffset === undefined ? 'no whole record' : `up to offset ${damage.lastOffset}`;
        options.reporter.warn(
          `log '${options.name}': cut ${damage.droppedBytes} byte(s) from ${damage.fileName} (${damage.reason}); kept ${kept}`,
        );
        segment.syncNow();
      }
      const isLast = i === baseOffsets.length - 1;
      if (isLast) {
        segments.push(segment);
        return;
      }
      segment.close();
      // Only the last segment may be empty: it says where the log goes on.
      if (segment.count === 0) segment.removeFile();
      else segments.push(segment);
    });
    const created = segments.length === 0;
    if (created) {
      segments.push(Segment.create(options.dir, options.startOffset ?? 0, options.files));
    }
    // Recovery went through every segment; none needs a descriptor until used.
    for (const segment of segments) segment.close();
    const log = new SegmentLog(options, segments, !created);
    log.directoryDirty = created;
    return log;
  }

  get firstOffset(): number {
    const first = this.segments.find((segment) => segment.count > 0);
    return first ? first.firstOffset : this.next;
  }

  get nextOffset(): number {
    return this.next;
  }

  get syncedOffset(): number {
    return this.syncedNext;
  }

  /** Records held, over all segments. */
  get length(): number {
    return this.segments.reduce((sum, segment) => sum + segment.count, 0);
  }

  /** Bytes on disk, over all segments. */
  get sizeBytes(): number {
    return this.segments.reduce((sum, segment) => sum + segment.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  append(message: string, publishedAt: number): LogRecord {
    const offset = this.next;
    this.write(offset, publishedAt, message);
    return { offset, message, publishedAt };
  }

  appendReplica(record: LogRecord): boolean {
    if (record.offset < this.next) return false;
    this.write(record.offset, record.publishedAt, record.message);
    return true;
  }

  bytesFrom(fromOffset: number): number {
    let bytes = 0;
    for (let i = this.segmentIndexFor(fromOffset); i < this.segments.length; i++) {
      bytes += this.segments[i].bytesFrom(fromOffset);
    }
    return bytes;
  }

  read(fromOffset: number, maxRecords: number, maxBytes: number): LogRecord[] {
    const out: LogRecord[] = [];
    const budget: ReadBudget = { maxRecords, maxBytes, bytes: 0, full: false };
    try {
      for (let i = this.segmentIndexFor(fromOffset); i < this.segments.length; i++) {
        if (out.length >= maxRecords || budget.full) break;
        this.segments[i].read(fromOffset, out, budget);
      }
    } catch (error) {
      throw storageError(error, `reading the log of '${this.options.name}'`);
    }
    return out;
  }

  trim(now: number): number {
    this.assertOpen();
    return atStorage(`trimming the log of '${this.options.name}'`, () => this.trimSegments(now));
  }

  private trimSegments(now: number): number {
    const active = this.segments[this.segments.length - 1];
    // A last segment whose records have all expired is rolled, so it can go.
    if (active.count > 0 && now - active.lastPublishedAt > this.options.retention.maxAgeMs) {
      this.roll();
    }
    let messages = this.length;
    let bytes = this.sizeBytes;
    let dropped = 0;
    const { maxMessages, maxBytes, maxAgeMs } = this.options.retention;
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      const removable =
        messages - oldest.count >= maxMessages ||
        bytes - oldest.size >= maxBytes ||
        now - oldest.lastPublishedAt > maxAgeMs;
      if (!removable) break;
      // Removed first: a segment that could not be removed stays in the log.
      oldest.removeFile();
      this.segments.shift();
      oldest.close();
      this.directoryDirty = true;
      messages -= oldest.count;
      bytes -= oldest.size;
      dropped += oldest.count;
    }
    return dropped;
  }

  sync(): Promise<void> {
    const target = this.appended;
    if (this.closed || (this.synced >= target && !this.directoryDirty)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ target, resolve, reject });
      if (!this.syncing) this.startSync();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync();
    this.closed = true;
    await this.syncing;
    for (const segment of this.segments) segment.close();
  }

  async destroy(): Promise<void> {
    this.closed = true;
    await this.syncing;
    for (const segment of this.segments) {
      segment.close();
      segment.removeFile();
    }
    this.segments.length = 0;
  }

  /**
   * Writes one record at the end of the log. If anything fails (a full disk,
   * no descriptor for a new segment), the log is as before: no offset taken,
   * no half record left in the file.
   */
  private write(offset: number, publishedAt: number, message: string): void {
    this.assertOpen();
    const bytes = encodeRecord(scratch, offset, publishedAt, message);
    try {
      let active = this.segments[this.segments.length - 1];
      if (active.count > 0 && active.size + bytes.length > this.options.segmentBytes) {
        active = this.roll();
        this.trimAfterRoll(publishedAt);
      }
      active.append(bytes, offset, publishedAt);
    } catch (error) {
      throw storageError(error, `appending to '${this.options.name}'`);
    }
    this.next = offset + 1;
    this.appended++;
  }

  /** Retention on a roll; a removal that fails does not fail the append that rolled. */
  private trimAfterRoll(now: number): void {
    try {
      this.trimSegments(now);
    } catch (error) {
      this.options.reporter.warn(
        `log '${this.options.name}': retention failed (${(error as Error).message}); trying again on the next roll`,
      );
    }
  }

  /**
   * Starts a new segment at the next offset and seals the last one. The new
   * file is created first, so a failure (disk full, out of descriptors)
   * leaves the log untouched. The sealed segment is flushed by the next group
   * commit, not here: a synchronous fdatasync of a whole segment stalled the
   * event loop for hundreds of ms.
   */
  private roll(): Segment {
    const segment = Segment.create(this.options.dir, this.next, this.options.files);
    const sealed = this.segments[this.segments.length - 1];
    if (this.synced >= this.appended) sealed.close();
    else this.sealedUnsynced.push(sealed);
    this.segments.push(segment);
    this.directoryDirty = true;
    return segment;
  }

  /**
   * One fdatasync for everything appended so far (group commit): it settles
   * every waiter whose appends it covers, and if appends came in while it
   * ran, the next one starts for their waiters.
   */
  private startSync(): void {
    const target = this.appended;
    const targetNext = this.next;
    const syncDirectory = this.directoryDirty;
    this.directoryDirty = false;
    const active = this.segments[this.segments.length - 1];
    const sealed = this.sealedUnsynced;
    this.sealedUnsynced = [];
    const flushes = [active.sync(), ...sealed.map((segment) => segment.sync())];
    if (syncDirectory) flushes.push(this.options.files.syncDirectory(this.options.dir));
    this.syncing = Promise.all(flushes).then(
      () => {
        for (const segment of sealed) segment.close();
        this.synced = Math.max(this.synced, target);
        this.syncedNext = Math.max(this.syncedNext, targetNext);
        this.syncing = undefined;
        // A destroyed log has nothing left to sync for anyone.
        const done = (waiter: SyncWaiter) => this.closed || waiter.target <= this.synced;
        const waiting = this.syncWaiters;
        this.syncWaiters = waiting.filter((waiter) => !done(waiter));
        for (const waiter of waiting) if (done(waiter)) waiter.resolve();
        if (this.syncWaiters.length > 0) this.startSync();
      },
      (error: unknown) => {
        if (syncDirectory) this.directoryDirty = true;
        this.sealedUnsynced.unshift(...sealed);
        this.syncing = undefined;
        const waiting = this.syncWaiters;
        this.syncWaiters = [];
        const failure = syncError(error, `the log of '${this.options.name}'`) as Error;
        for (const waiter of waiting) waiter.reject(failure);
      },
    );
  }

  /** The last segment whose base offset is at or below `offset` (the first if none). */
  private segmentIndexFor(offset: number): number {
    let low = 0;
    let high = this.segments.length - 1;
    let found = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.segments[mid].baseOffset <= offset) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`log '${this.options.name}' is closed`);
  }
}
