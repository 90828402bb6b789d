import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  truncateSync,
  writeSync,
} from 'fs';
import { dirname } from 'path';
import { LogReporter } from './segment-log';

/** Rewrite the journal once it holds this many lines and four times as many as live keys. */
const COMPACT_MIN_LINES = 1000;

export interface StateJournalOptions {
  /** fdatasync after every change (FSYNC=always); otherwise `sync` does it. */
  syncEachWrite: boolean;
  reporter: LogReporter;
}

/**
 * Small state that changes often (consumer positions, subscriber cursors,
 * topic metadata) kept as a key-value map in an append-only journal: one JSON
 * line per change, `[key, value]` or `[key]` for a removal. A change costs
 * one small write (a few microseconds), where rewriting a file and renaming
 * it costs a hundred; the journal is compacted by rewriting it when it has
 * grown well past its live keys. A line torn by a crash is dropped on open.
 */
export class StateJournal<V> {
  private readonly values = new Map<string, V>();
  private fd: number;
  private lines = 0;
  private dirty = false;

  private constructor(
    readonly path: string,
    private readonly options: StateJournalOptions,
  ) {}

  static open<V>(path: string, options: StateJournalOptions): StateJournal<V> {
    const journal = new StateJournal<V>(path, options);
    const existed = journal.load();
    journal.fd = openSync(path, 'a');
    // Once per file: without it a power loss could take the new file itself.
    if (!existed) fsyncDirectorySync(dirname(path));
    if (journal.lines > journal.values.size * 2 + 16) journal.compact();
    return journal;
  }

  get(key: string): V | undefined {
    return this.values.get(key);
  }

  entries(): Array<[string, V]> {
    return [...this.values];
  }

  set(key: string, value: V): void {
    this.values.set(key, value);
    this.write(JSON.stringify([key, value]));
  }

  delete(key: string): void {
    if (!this.values.delete(key)) return;
    this.write(JSON.stringify([key]));
  }

  /** Flushes changes to stable storage if there are any (interval mode). */
  sync(): Promise<void> {
    if (!this.dirty) return Promise.resolve();
    this.dirty = false;
    return new Promise((resolve, reject) =>
      fdatasync(this.fd, (error) => {
        if (error) {
          this.dirty = true;
          reject(error);
        } else {
          resolve();
        }
      }),
    );
  }

  close(): void {
    closeSync(this.fd);
  }

  private write(line: string): void {
    writeSync(this.fd, `${line}\n`);
    this.lines++;
    if (this.options.syncEachWrite) fdatasyncSync(this.fd);
    else this.dirty = true;
    if (this.lines >= COMPACT_MIN_LINES && this.lines > this.values.size * 4) this.compact();
  }

  /** Reads the journal's changes into the map; false if there is no file yet. */
  private load(): boolean {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      this.options.reporter.warn(
        `${this.path}: dropped a torn last line (${Buffer.byteLength(text.slice(end))} byte(s))`,
      );
      truncateSync(this.path, Buffer.byteLength(text.slice(0, end)));
    }
    for (const line of text.slice(0, end).split('\n')) {
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

  /** Rewrites the live keys to a new file and swaps it in atomically. */
  private compact(): void {
    const temporary = `${this.path}.compact`;
    const fd = openSync(temporary, 'w');
    try {
      const body = this.entries()
        .map((entry) => `${JSON.stringify(entry)}\n`)
        .join('');
      writeSync(fd, body);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    fsyncDirectorySync(dirname(this.path));
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a');
    this.lines = this.values.size;
    this.dirty = false;
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
