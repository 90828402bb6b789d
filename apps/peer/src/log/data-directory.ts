import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  closeSync,
} from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { ConfigError } from '@p2p-pubsub/server';

const LOCK_FILE = 'LOCK';

/**
 * The directory a peer keeps its logs and state in, held with a lock file so
 * two peers can never write the same logs. Without a configured path (a peer
 * on port 0, as in tests and benchmarks, has no stable identity to come back
 * to) it is a fresh temporary directory, removed on shutdown.
 */
export class DataDirectory {
  private constructor(
    readonly path: string,
    readonly temporary: boolean,
  ) {}

  static open(configured: string | undefined): DataDirectory {
    if (configured === undefined) {
      const path = mkdtempSync(join(tmpdir(), 'p2p-peer-'));
      const directory = new DataDirectory(path, true);
      directory.lock();
      return directory;
    }
    const path = resolve(configured);
    try {
      mkdirSync(path, { recursive: true });
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (error) {
      throw new ConfigError(
        `Invalid configuration:\n  DATA_DIR (--data-dir) = '${configured}': ${(error as Error).message}`,
      );
    }
    const directory = new DataDirectory(path, false);
    directory.lock();
    return directory;
  }

  /** Unlocks, and removes the directory if it was a temporary one. */
  release(): void {
    if (this.temporary) {
      rmSync(this.path, { recursive: true, force: true });
      return;
    }
    rmSync(join(this.path, LOCK_FILE), { force: true });
  }

  /**
   * Takes the lock file, or takes it over from a process that is gone (a
   * peer killed with -9 leaves it behind). A lock naming our own pid is
   * stale too: a container restarted on the same volume gets the same pid.
   */
  private lock(): void {
    const lockPath = join(this.path, LOCK_FILE);
    try {
      const fd = openSync(lockPath, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(lockPath, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new ConfigError(
        `Invalid configuration:\n  DATA_DIR (--data-dir) = '${this.path}': in use by process ${holder} (another peer?)`,
      );
    }
    unlinkSync(lockPath);
    this.lock();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
