import { execFileSync } from 'child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  statfsSync,
  writeSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/**
 * A small tmpfs mounted for one suite, so a disk can really fill up: the
 * suites that use it need root (CI runs as root). Filler files take space
 * away and give it back when removed.
 */
export class Tmpfs {
  private fillers = 0;

  private constructor(readonly path: string) {}

  /** Mounts a tmpfs of `sizeBytes`; fails, saying why, when not root. */
  static mount(sizeBytes: number): Tmpfs {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'this suite mounts a small tmpfs to fill a disk for real, which needs root: run it as root (CI does)',
      );
    }
    const path = mkdtempSync(join(tmpdir(), 'p2p-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', path]);
    return new Tmpfs(path);
  }

  /** A directory on the tmpfs (a peer's data directory). */
  dir(name: string): string {
    const dir = join(this.path, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  get freeBytes(): number {
    const stats = statfsSync(this.path);
    return stats.bavail * stats.bsize;
  }

  /**
   * Writes a filler file until only `leaveBytes` are free (0: until the file
   * system refuses, to the last byte of the last page). Returns its path.
   */
  fill(leaveBytes = 0): string {
    const path = join(this.path, `filler-${++this.fillers}`);
    const fd = openSync(path, 'w');
    try {
      for (;;) {
        const room = this.freeBytes - leaveBytes;
        if (leaveBytes > 0 && room <= 0) break;
        const length = leaveBytes > 0 ? Math.min(CHUNK.length, room) : CHUNK.length;
        try {
          writeSync(fd, CHUNK, 0, length);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    } finally {
      closeSync(fd);
    }
    return path;
  }

  /** Gives back the space of every filler file. */
  freeFillers(): void {
    for (const name of readdirSync(this.path)) {
      if (name.startsWith('filler-')) rmSync(join(this.path, name));
    }
  }

  /** Unmounts (lazily if something still holds it) and removes the mount point. */
  unmount(): void {
    try {
      execFileSync('umount', [this.path], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', this.path], { stdio: 'ignore' });
    }
    rmdirSync(this.path);
  }
}

/**
 * Bytes a file can still grow by on a full tmpfs: tmpfs allocates whole
 * pages, so an append that stays within the last page needs no new space.
 */
export function roomInLastPage(path: string): number {
  const PAGE = 4096;
  return (PAGE - (statSync(path).size % PAGE)) % PAGE;
}

/** The directory of `topic` under a peer's data directory (named `<topic>-<hash>-<random>`). */
export function topicDirectory(dataDir: string, topic: string): string {
  const topics = join(dataDir, 'topics');
  const name = readdirSync(topics).find((entry) =>
    new RegExp(`^${topic}-[0-9a-f]{16}-[0-9a-f]{8}$`).test(entry),
  );
  if (!name) throw new Error(`no directory for '${topic}' in ${topics}`);
  return join(topics, name);
}
