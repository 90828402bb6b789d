import {
  closeSync,
  constants,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeSync,
} from 'fs';
import { dirname } from 'path';
import { OpenFiles, PooledFile } from './open-files';
import { LogReporter } from './segment-log';
import { fileLabel, storageError, syncError } from './storage-errors';

/** Rewrite the journal once it holds this many lines and four times as many as live keys. */
const COMPACT_MIN_LINES = 1000;
const NEWLINE = 0x0a;
const RESOLVED = Promise.resolve();

export interface StateJournalOptions {
  /**
   * Every change is on stable storage before `set` or `delete` resolves
   * (FSYNC=always, and topic metadata); otherwise `sync` flushes them.
   */
  syncEachWrite: boolean;
  reporter: LogReporter;
  /** The peer's descriptors: the journal opens its file through them. */
  files: OpenFiles;
}

interface SyncWaiter {
  /** The write count this waiter needs synced. */
  target: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A key changed since the last sync, and what it was then (syncEachWrite). */
interface UnsyncedChange<V> {
  existed: boolean;
  durable: V | undefined;
  /** The write count of its latest change. */
  lastWrite: number;
}

/**
 * Small state that changes often (consumer positions, subscriber cursors,
 * topic metadata) kept as a key-value map in an append-only journal: one JSON
 * line per change, `[key, value]` or `[key]` for a removal. A change costs
 * one small write (a few microseconds), where rewriting a file and renaming
 * it costs a hundred; the journal is compacted by rewriting it when it has
 * grown well past its live keys. A line torn by a crash is dropped on open.
 *
 * State moves only once its line is written: a change that fails (a full
 * disk) throws a storage error and leaves the map and the file as they were
 * (a partly written line is cut back, and lines are written at the end the
 * journal knows, so a cut that fails too is overwritten by the next line).
 * With `syncEachWrite`, `set` and `delete` resolve once the change is synced,
 * with group commit: changes made while an fdatasync runs (on the thread
 * pool) share the next one. Should a sync fail, every change since the last
 * good one is refused and the map goes back to what that one covered.
 */
export class StateJournal<V> {
  private readonly values = new Map<string, V>();
  private file: PooledFile;
  /** Bytes of whole lines in the file: where the next line goes. */
  private fileBytes = 0;
  private lines = 0;
  private compactAtLines = COMPACT_MIN_LINES;
  /** The file did not exist at open: its directory entry needs a sync once written. */
  private created = false;
  private directoryDirty = false;
  /** Interval mode: written since the last sync. */
  private dirty = false;
  /** syncEachWrite: group commit. */
  private written = 0;
  private syncedWrites = 0;
  private syncing = false;
  private waiters: SyncWaiter[] = [];
  private readonly unsynced = new Map<string, UnsyncedChange<V>>();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly options: StateJournalOptions,
  ) {
    this.file = this.poolFile();
  }

  /**
   * Reads the journal at `path`. A journal that does not exist yet is
   * created by its first change, so reading never writes.
   */
  static open<V>(path: string, options: StateJournalOptions): StateJournal<V> {
    const journal = new StateJournal<V>(path, options);
    try {
      journal.created = !journal.load();
    } catch (error) {
      throw storageError(error, `reading ${journal.label}`);
    }
    if (journal.lines > journal.values.size * 2 + 16) journal.tryCompact();
    return journal;
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  entries(): Array<[string, V]> {
    return [...this.values];
  }

  /** Writes the change, then applies it; resolves once it is as durable as the journal promises. */
  set(key: string, value: V): Promise<void> {
    if (this.closed) return RESOLVED;
    this.writeLine(JSON.stringify([key, value]));
    this.rememberDurable(key);
    this.values.set(key, value);
    return this.committed();
  }

  delete(key: string): Promise<void> {
    if (this.closed || !this.values.has(key)) return RESOLVED;
    this.writeLine(JSON.stringify([key]));
    this.rememberDurable(key);
    this.values.delete(key);
    return this.committed();
  }

  /** Flushes changes to stable storage if there are any (interval mode). */
  sync(): Promise<void> {
    if (this.options.syncEachWrite) {
      return this.written > this.syncedWrites ? this.committed() : RESOLVED;
    }
    if (!this.dirty && !this.directoryDirty) return RESOLVED;
    const syncDirectory = this.directoryDirty;
    this.dirty = false;
    this.directoryDirty = false;
    return this.flush(syncDirectory).catch((error: unknown) => {
      this.dirty = true;
      if (syncDirectory) this.directoryDirty = true;
      throw syncError(error, this.label);
    });
  }

  /**
   * Closes the file. Later changes are ignored: the journal closes with its
   * topic (deleted, or the peer shutting down), and a change still in flight
   * must not create the file again in a directory being removed.
   */
  close(): void {
    this.closed = true;
    this.file.close();
  }

  private get label(): string {
    return fileLabel(this.path);
  }

  private poolFile(): PooledFile {
    return this.options.files.file(this.path, constants.O_RDWR | constants.O_CREAT, 'r+');
  }

  private writeLine(line: string): void {
    const bytes = Buffer.from(`${line}\n`);
    let fd: number;
    try {
      fd = this.file.descriptor();
    } catch (error) {
      throw storageError(error, `writing ${this.label}`);
    }
    let done = 0;
    try {
      while (done < bytes.length) {
        done += writeSync(fd, bytes, done, bytes.length - done, this.fileBytes + done);
      }
    } catch (error) {
      if (done > 0) {
        try {
          ftruncateSync(fd, this.fileBytes);
        } catch {
          // The next line is written at fileBytes and covers it.
        }
      }
      throw storageError(error, `writing ${this.label}`);
    }
    this.fileBytes += bytes.length;
    this.lines++;
    this.written++;
    if (this.created) {
      this.created = false;
      this.directoryDirty = true;
    }
  }

  /** syncEachWrite: what `key` was at the last sync, in case the next one fails. */
  private rememberDurable(key: string): void {
    if (!this.options.syncEachWrite) return;
    const change = this.unsynced.get(key);
    if (change) {
      change.lastWrite = this.written;
      return;
    }
    this.unsynced.set(key, {
      existed: this.values.has(key),
      durable: this.values.get(key),
      lastWrite: this.written,
    });
  }

  private committed(): Promise<void> {
    if (!this.options.syncEachWrite) {
      this.dirty = true;
      this.maybeCompact();
      return RESOLVED;
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ target: this.written, resolve, reject });
      if (!this.syncing) this.startSync();
    });
  }

  /** One fdatasync for every change written so far (group commit). */
  private startSync(): void {
    this.syncing = true;
    const target = this.written;
    const syncDirectory = this.directoryDirty;
    this.directoryDirty = false;
    this.flush(syncDirectory).then(
      () => this.syncSucceeded(target),
      (error: unknown) => this.syncFailed(error, syncDirectory),
    );
  }

  private syncSucceeded(target: number): void {
    this.syncing = false;
    this.syncedWrites = target;
    for (const [key, change] of this.unsynced) {
      if (change.lastWrite <= target) this.unsynced.delete(key);
    }
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.target <= target) waiter.resolve();
      else this.waiters.push(waiter);
    }
    if (this.waiters.length > 0) this.startSync();
    else this.maybeCompact();
  }

  /**
   * A failed fdatasync: the kernel may have dropped what it could not write,
   * so nothing since the last good sync is known to be durable. Every change
   * waiting is refused and the map goes back to the synced state; the lines
   * that restore it are written as well (best effort), so a restart reads
   * the same state the peer answered from.
   */
  private syncFailed(error: unknown, syncDirectory: boolean): void {
    this.syncing = false;
    if (syncDirectory) this.directoryDirty = true;
    const failure = syncError(error, this.label);
    const reverted = [...this.unsynced];
    this.unsynced.clear();
    for (const [key, change] of reverted) {
      if (change.existed) this.values.set(key, change.durable as V);
      else this.values.delete(key);
      try {
        this.writeLine(JSON.stringify(change.existed ? [key, change.durable] : [key]));
      } catch {
        // The disk is failing; the map is still what was last synced.
      }
    }
    this.syncedWrites = this.written;
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.reject(failure);
    this.options.reporter.warn(`${this.path}: ${(failure as Error).message}`);
  }

  /** fdatasync on the thread pool, with the descriptor pinned; the directory too if asked. */
  private async flush(syncDirectory: boolean): Promise<void> {
    const file = this.file;
    const fd = await file.pin();
    const flushes = [
      new Promise<void>((resolve, reject) =>
        fdatasync(fd, (error) => {
          file.release();
          if (error) reject(error);
          else resolve();
        }),
      ),
    ];
    if (syncDirectory) flushes.push(this.options.files.syncDirectory(dirname(this.path)));
    await Promise.all(flushes);
  }

  /** Reads the journal's changes into the map; false if there is no file yet. */
  private load(): boolean {
    let content: Buffer;
    try {
      content = readFileSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const end = content.lastIndexOf(NEWLINE) + 1;
    if (end < content.length) {
      this.options.reporter.warn(
        `${this.path}: dropped a torn last line (${content.length - end} byte(s))`,
      );
      truncateSync(this.path, end);
    }
    this.fileBytes = end;
    for (const line of content.toString('utf8', 0, end).split('\n')) {
      if (line === '') continue;
      this.lines++;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        this.options.reporter.warn(`${this.path}: skipped a corrupt line`);
        continue;
      }
      if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
      if (entry.length === 1) this.values.delete(entry[0]);
      else this.values.set(entry[0], entry[1] as V);
    }
    return true;
  }

  /**
   * Compaction waits until no sync is in flight and every change is synced,
   * so the rewritten file (synced before it replaces the old one) covers
   * exactly what callers were told. It syncs on the event loop, once per
   * thousand changes at most.
   */
  private maybeCompact(): void {
    if (this.lines < this.compactAtLines || this.lines <= this.values.size * 4) return;
    if (this.syncing || this.unsynced.size > 0) return;
    this.tryCompact();
  }

  /** A compaction that fails (a full disk) leaves the journal as it was, to grow a while longer. */
  private tryCompact(): void {
    try {
      this.compact();
      this.compactAtLines = COMPACT_MIN_LINES;
    } catch (error) {
      this.compactAtLines = this.lines + COMPACT_MIN_LINES;
      this.options.reporter.warn(
        `${this.path}: compaction failed (${(error as Error).message}); the journal keeps growing until it succeeds`,
      );
    }
  }

  /** Rewrites the live keys to a new file and swaps it in atomically. */
  private compact(): void {
    const temporary = `${this.path}.compact`;
    const body = Buffer.from(
      this.entries()
        .map((entry) => `${JSON.stringify(entry)}\n`)
        .join(''),
    );
    const fd = openSync(temporary, 'w');
    try {
      let done = 0;
      while (done < body.length) done += writeSync(fd, body, done, body.length - done);
      fdatasyncSync(fd);
      closeSync(fd);
    } catch (error) {
      closeSync(fd);
      unlinkSync(temporary);
      throw error;
    }
    renameSync(temporary, this.path);
    this.file.close();
    this.file = this.poolFile();
    this.fileBytes = body.length;
    this.lines = this.values.size;
    this.created = false;
    this.dirty = false;
    try {
      fsyncDirectorySync(dirname(this.path));
    } catch {
      // The rename is done; the next sync makes it durable.
      this.directoryDirty = true;
    }
  }
}

/** Makes a file created, renamed or removed in `dir` durable. */
export function fsyncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
