// Guards the small state journals (consumer positions, cursors, topic
// metadata): every change survives a reopen, a torn last line is dropped,
// and compaction never loses a live key.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { StateJournal } from './state-journal';

describe('StateJournal', () => {
  let dir: string;
  let path: string;
  let warnings: string[];
  const open = <V>() =>
    StateJournal.open<V>(path, {
      syncEachWrite: false,
      reporter: { warn: (m) => warnings.push(m) },
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'state-journal-'));
    path = join(dir, 'consumers.journal');
    warnings = [];
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the last value of every key across a reopen, and forgets deleted keys', () => {
    const journal = open<number>();
    journal.set('default', 1);
    journal.set('audit', 7);
    journal.set('default', 2);
    journal.delete('audit');
    journal.set('billing', 3);
    // Not closed: every change is in the file as soon as set returns.
    expect(open<number>().entries()).toEqual([
      ['default', 2],
      ['billing', 3],
    ]);
  });

  it('drops a line torn by a crash and goes on appending after the last whole one', () => {
    const journal = open<{ host: string; port: number }>();
    journal.set('a', { host: 'h', port: 1 });
    journal.close();
    appendFileSync(path, '["b",{"host":"h","po');
    const reopened = open<{ host: string; port: number }>();
    expect(reopened.entries()).toEqual([['a', { host: 'h', port: 1 }]]);
    expect(warnings[0]).toMatch(/dropped a torn last line/);
    reopened.set('c', { host: 'h', port: 3 });
    expect(open().entries()).toEqual([
      ['a', { host: 'h', port: 1 }],
      ['c', { host: 'h', port: 3 }],
    ]);
  });

  it('compacts a journal that grew past its live keys without losing any', () => {
    const journal = open<number>();
    for (let i = 0; i < 5000; i++) journal.set(`consumer-${i % 3}`, i);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(1000);
    expect(open<number>().entries().sort()).toEqual([
      ['consumer-0', 4998],
      ['consumer-1', 4999],
      ['consumer-2', 4997],
    ]);
  });
});
