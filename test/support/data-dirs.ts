import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** Data directories for the peers of one suite, kept across their restarts and removed at the end. */
export class DataDirs {
  private readonly root = mkdtempSync(join(tmpdir(), 'p2p-e2e-'));
  private count = 0;

  /** A fresh directory; pass it to a peer as `--data-dir`. */
  make(name: string): string {
    return join(this.root, `${name}-${++this.count}`);
  }

  removeAll(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
