import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** Data directories for the peers of one suite, kept across their restarts and removed at the end. */
export class DataDirs {
  private readonly root = mkdtempSync(join(tmpdir(), 'p2p-e2e-'));
  private count = 0;
  private readonly byName = new Map<string, string>();

  /** A fresh directory; pass it to a peer as `--data-dir`. */
  make(name: string): string {
    const path = join(this.root, `${name}-${++this.count}`);
    this.byName.set(name, path);
    return path;
  }

  /** The directory last made for `name`. */
  made(name: string): string {
    const path = this.byName.get(name);
    if (!path) throw new Error(`no data directory was made for ${name}`);
    return path;
  }

  removeAll(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
