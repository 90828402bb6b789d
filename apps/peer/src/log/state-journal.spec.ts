// Guards the small state journals (consumer positions, cursors, topic
// metadata): every change survives a reopen, a torn last line is dropped,
// compaction never loses a live key, a change that cannot be written moves
// nothing, and a torn line left by a failed write never spoils the next one.
import { PubSubError } from '@p2p-pubsub/protocol';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { OpenFiles } from './open-files';
import { StateJournal } from './state-journal';

describe('StateJournal', () => {
  let dir: string;
  let path: string;
  let warnings: string[];
  let files: OpenFiles;
  const open = <V>(syncEachWrite = false) =>
    StateJournal.open<V>(path, {
      syncEachWrite,
      reporter: { warn: (m) => warnings.push(m) },
      files,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'state-journal-'));
    path = join(dir, 'consumers.journal');
    warnings = [];
    files = new OpenFiles(16);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the last value of every key across a reopen, and forgets deleted keys', async () => {
    const journal = open<number>();
    await journal.set('default', 1);
    await journal.set('audit', 7);
    await journal.set('default', 2);
    await journal.delete('audit');
    await journal.set('billing', 3);
    // Not closed: every change is in the file as soon as set returns.
    expect(open<number>().entries()).toEqual([
      ['default', 2],
      ['billing', 3],
    ]);
  });

  it('drops a line torn by a crash and goes on appending after the last whole one', async () => {
    const journal = open<{ host: string; port: number }>();
    await journal.set('a', { host: 'h', port: 1 });
    journal.close();
    appendFileSync(path, '["b",{"host":"h","po');
    const reopened = open<{ host: string; port: number }>();
    expect(reopened.entries()).toEqual([['a', { host: 'h', port: 1 }]]);
    expect(warnings[0]).toMatch(/dropped a torn last line/);
    await reopened.set('c', { host: 'h', port: 3 });
    expect(open().entries()).toEqual([
      ['a', { host: 'h', port: 1 }],
      ['c', { host: 'h', port: 3 }],
    ]);
  });

  it('writes the next change over a torn line a failed write left behind, so neither is lost or corrupt', async () => {
    const journal = open<number>();
    await journal.set('a', 1);
    // What a write cut short by a full disk leaves when cutting it back failed too.
    appendFileSync(path, '["torn-key-that-never-made-it",12345');
    await journal.set('b', 2);
    const reopened = open<number>();
    expect(reopened.entries()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(warnings.filter((warning) => /corrupt/.test(warning))).toEqual([]);
  });

  it('does not create its file until the first change, so reading never writes', async () => {
    const journal = open<number>();
    expect(journal.get('default')).toBeUndefined();
    expect(existsSync(path)).toBe(false);
    await journal.set('default', 1);
    expect(existsSync(path)).toBe(true);
  });

  it('moves nothing when the disk is full: STORAGE_FULL, and the key keeps its value', async () => {
    const journal = open<number>();
    await journal.set('default', 1);
    // Other files take the descriptor pool over, so the journal's next change
    // opens its path again: by then a link to /dev/full, which fails every
    // write with ENOSPC as a full disk does.
    for (let i = 0; i < 16; i++) files.file(join(dir, `other-${i}`), 'w+').descriptor();
    rmSync(path);
    symlinkSync('/dev/full', path);
    let caught: unknown;
    try {
      await journal.set('default', 5);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PubSubError);
    expect((caught as PubSubError).code).toBe('STORAGE_FULL');
    expect(journal.get('default')).toBe(1);
  });

  it('with syncEachWrite, resolves each change once synced, one fdatasync for changes made together', async () => {
    const journal = open<number>(true);
    const changes = Array.from({ length: 100 }, (_, i) => journal.set(`c${i % 10}`, i));
    // Visible at once to the next reader, durable when the promise resolves.
    expect(journal.get('c9')).toBe(99);
    await Promise.all(changes);
    expect(open<number>().get('c9')).toBe(99);
  });

  it('compacts a journal that grew past its live keys without losing any', async () => {
    const journal = open<number>();
    for (let i = 0; i < 5000; i++) await journal.set(`consumer-${i % 3}`, i);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(1000);
    expect(open<number>().entries().sort()).toEqual([
      ['consumer-0', 4998],
      ['consumer-1', 4999],
      ['consumer-2', 4997],
    ]);
  });

  it('with syncEachWrite, compacts too, once its changes are synced', async () => {
    const journal = open<number>(true);
    for (let i = 0; i < 3000; i++) await journal.set(`consumer-${i % 3}`, i);
    expect(statSync(path).size).toBeLessThan(1000 * 20);
    expect(open<number>().get('consumer-2')).toBe(2999);
  });

  it('opens its file through the pool: many journals never hold more descriptors than the cap', async () => {
    files = new OpenFiles(16);
    const journals = Array.from({ length: 100 }, (_, i) =>
      StateJournal.open<number>(join(dir, `j${i}.journal`), {
        syncEachWrite: true,
        reporter: { warn: (m) => warnings.push(m) },
        files,
      }),
    );
    await Promise.all(journals.map((journal, i) => journal.set('k', i)));
    expect(files.openCount).toBeLessThanOrEqual(16);
    journals.forEach((journal) => journal.close());
    for (let i = 0; i < 100; i++) {
      expect(
        StateJournal.open<number>(join(dir, `j${i}.journal`), {
          syncEachWrite: false,
          reporter: { warn: () => undefined },
          files,
        }).get('k'),
      ).toBe(i);
    }
  });
});
