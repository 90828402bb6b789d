// Guards the descriptor cap: files are opened on demand and the least
// recently used closed, never one an fdatasync is using, and syncs beyond
// half the cap wait their turn instead of taking the last descriptors.
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { OpenFiles, PooledFile } from './open-files';

describe('OpenFiles', () => {
  let dir: string;
  const openDescriptors = () => readdirSync('/proc/self/fd').length;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'open-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const make = (files: OpenFiles, count: number): PooledFile[] =>
    Array.from({ length: count }, (_, i) => files.file(join(dir, `f${i}`), 'w+'));

  it('keeps at most the cap open, closing the least recently used, and reopens on use', () => {
    const before = openDescriptors();
    const files = new OpenFiles(4);
    const pooled = make(files, 10);
    for (const file of pooled) file.descriptor();
    expect(files.openCount).toBe(4);
    expect(openDescriptors() - before).toBe(4);
    expect(pooled.map((file) => file.isOpen)).toEqual([
      ...Array<boolean>(6).fill(false),
      ...Array<boolean>(4).fill(true),
    ]);
    // Using f6 again makes f7 the least recently used.
    pooled[6].descriptor();
    pooled[0].descriptor();
    expect(pooled[7].isOpen).toBe(false);
    expect(pooled[6].isOpen).toBe(true);
    for (const file of pooled) file.close();
    expect(openDescriptors()).toBe(before);
  });

  it('never closes a pinned descriptor; close waits for the release', async () => {
    const files = new OpenFiles(4);
    const pooled = make(files, 6);
    const fd = await pooled[0].pin();
    for (const file of pooled.slice(1)) file.descriptor();
    expect(pooled[0].isOpen).toBe(true);
    pooled[0].close();
    expect(pooled[0].isOpen).toBe(true);
    pooled[0].release();
    expect(pooled[0].isOpen).toBe(false);
    expect(fd).toBeGreaterThan(2);
  });

  it('lets at most half the cap be pinned; further pins wait for a release', async () => {
    const files = new OpenFiles(4);
    const pooled = make(files, 4);
    await pooled[0].pin();
    await pooled[1].pin();
    let third = false;
    const pinning = pooled[2].pin().then(() => (third = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(third).toBe(false);
    // Writes still find a descriptor: the unpinned half is there for them.
    pooled[3].descriptor();
    pooled[0].release();
    await pinning;
    expect(third).toBe(true);
  });
});
