import { closeSync, fsync, openSync } from 'fs';
import { LimitExceededError } from '@p2p-pubsub/protocol';
import { fileLabel, storageError } from './storage-errors';

/**
 * The descriptors of every log segment and journal a peer keeps, capped.
 * Files are opened on demand and the least recently used one is closed when
 * the cap is reached, so descriptors grow with the files in use, not with the
 * topics held: a peer with thousands of idle topics (or recovering them at
 * start-up) stays well under the process's limit, which connections share.
 *
 * A descriptor an asynchronous operation is using (an fdatasync on the thread
 * pool) is pinned: it is neither evicted nor closed until released, so a
 * sync never runs on a closed (or reused) descriptor number. At most half
 * the cap is pinned at once (more syncs wait their turn: libuv runs four at
 * a time anyway), so a synchronous write always finds a descriptor to reuse.
 */
export class OpenFiles {
  /** Open files, least recently used first (a Map keeps insertion order). */
  private readonly open = new Map<PooledFile, true>();
  /** Skips the reordering when the same file is used again (the common case). */
  private mostRecent?: PooledFile;
  readonly maxPinned: number;
  private pinned = 0;
  private readonly pinQueue: Array<() => void> = [];

  constructor(readonly maxOpen: number) {
    this.maxPinned = Math.max(1, Math.floor(maxOpen / 2));
  }

  get openCount(): number {
    return this.open.size;
  }

  /**
   * A file to open when first used. `createFlags` open it the first time
   * (e.g. `wx+` to create it exclusively); later opens, after an eviction,
   * use `reopenFlags`.
   */
  file(
    path: string,
    createFlags: string | number,
    reopenFlags: string | number = 'r+',
  ): PooledFile {
    return new PooledFile(this, path, createFlags, reopenFlags);
  }

  /**
   * Makes a file created, renamed or removed in `dir` durable. The
   * directory's descriptor counts against the cap like any file's: a
   * thousand new topics synced at once never take a thousand descriptors.
   */
  async syncDirectory(dir: string): Promise<void> {
    const directory = this.file(dir, 'r', 'r');
    const fd = await directory.pin();
    try {
      await new Promise<void>((resolve, reject) =>
        fsync(fd, (error) => (error ? reject(error) : resolve())),
      );
    } finally {
      directory.release();
      directory.close();
    }
  }

  /** @internal Opens `file`'s path, making room under the cap first. */
  openDescriptor(file: PooledFile, flags: string | number): number {
    if (this.open.size >= this.maxOpen && !this.evictOne()) {
      throw new LimitExceededError(
        `Too many files in use at once (MAX_OPEN_FILES = ${this.maxOpen}); retry shortly`,
      );
    }
    let fd: number;
    try {
      fd = openSync(file.path, flags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // The process limit is shared with sockets: give one of ours back and try once more.
      if ((code !== 'EMFILE' && code !== 'ENFILE') || !this.evictOne()) {
        throw storageError(error, `opening ${fileLabel(file.path)}`);
      }
      try {
        fd = openSync(file.path, flags);
      } catch (retryError) {
        throw storageError(retryError, `opening ${fileLabel(file.path)}`);
      }
    }
    this.open.set(file, true);
    this.mostRecent = file;
    return fd;
  }

  /** @internal Marks `file` as the most recently used. */
  touch(file: PooledFile): void {
    if (this.mostRecent === file) return;
    this.open.delete(file);
    this.open.set(file, true);
    this.mostRecent = file;
  }

  /** @internal Resolves once a pin may be taken, and takes it. */
  acquirePin(): Promise<void> {
    if (this.pinned < this.maxPinned) {
      this.pinned++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.pinQueue.push(resolve));
  }

  /** @internal Gives a pin back, straight to the next waiting sync if there is one. */
  releasePin(): void {
    const next = this.pinQueue.shift();
    if (next) next();
    else this.pinned--;
  }

  /** @internal `file` closed its descriptor. */
  forget(file: PooledFile): void {
    this.open.delete(file);
    if (this.mostRecent === file) this.mostRecent = undefined;
  }

  /** Closes the least recently used file nobody has pinned; false if all are pinned. */
  private evictOne(): boolean {
    for (const file of this.open.keys()) {
      if (file.pinned) continue;
      file.close();
      return true;
    }
    return false;
  }
}

/** One file of the pool: a path with a descriptor that comes and goes. */
export class PooledFile {
  private fd?: number;
  private pins = 0;
  private opened = false;
  /** close() was called while pinned: close on the last release. */
  private closeWhenReleased = false;

  constructor(
    private readonly pool: OpenFiles,
    readonly path: string,
    private readonly createFlags: string | number,
    private readonly reopenFlags: string | number,
  ) {}

  get isOpen(): boolean {
    return this.fd !== undefined;
  }

  get pinned(): boolean {
    return this.pins > 0;
  }

  /**
   * A descriptor for synchronous use only (it may be closed by the next
   * open of another file). Opens the file if it is not open.
   */
  descriptor(): number {
    if (this.fd !== undefined) {
      this.pool.touch(this);
      return this.fd;
    }
    this.closeWhenReleased = false;
    this.fd = this.pool.openDescriptor(this, this.opened ? this.reopenFlags : this.createFlags);
    this.opened = true;
    return this.fd;
  }

  /** A descriptor that stays open until `release`: for asynchronous use. */
  async pin(): Promise<number> {
    await this.pool.acquirePin();
    try {
      const fd = this.descriptor();
      this.pins++;
      return fd;
    } catch (error) {
      this.pool.releasePin();
      throw error;
    }
  }

  release(): void {
    this.pins--;
    this.pool.releasePin();
    if (this.pins === 0 && this.closeWhenReleased) this.close();
  }

  /** Closes the descriptor now, or once the last pin is released. */
  close(): void {
    if (this.fd === undefined) return;
    if (this.pins > 0) {
      this.closeWhenReleased = true;
      return;
    }
    const fd = this.fd;
    this.fd = undefined;
    this.closeWhenReleased = false;
    this.pool.forget(this);
    // Data written through it stays in the page cache; a later sync through a
    // new descriptor flushes it (fdatasync works on the file, not the descriptor).
    // Linux releases the descriptor even when close reports an error.
    try {
      closeSync(fd);
    } catch {
      // Nothing to undo: a write error shows up at the next sync.
    }
  }
}
