// Guards the on-disk log: offsets never reused, every whole record served
// after a crash, torn or corrupt tails cut back, retention by whole segments.
import { PubSubError } from '@p2p-pubsub/protocol';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  rmdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { OpenFiles } from './open-files';
import { SegmentLog, SegmentLogOptions } from './segment-log';
import { RetentionPolicy } from './topic-log';

const KEEP_ALL: RetentionPolicy = {
  maxMessages: Number.MAX_SAFE_INTEGER,
  maxBytes: Number.MAX_SAFE_INTEGER,
  maxAgeMs: Number.MAX_SAFE_INTEGER,
};

describe('SegmentLog', () => {
  let dir: string;
  let warnings: string[];
  const open = (overrides: Partial<SegmentLogOptions> = {}) =>
    SegmentLog.open({
      dir,
      name: 'test',
      segmentBytes: 1024 * 1024,
      retention: KEEP_ALL,
      reporter: { warn: (message) => warnings.push(message) },
      files: new OpenFiles(64),
      ...overrides,
    });
  const segmentFiles = () =>
    readdirSync(dir)
      .filter((name) => name.endsWith('.log'))
      .sort();
  const messagesOf = (log: SegmentLog, from = 0) =>
    log.read(from, 1_000_000, Number.MAX_SAFE_INTEGER).map((r) => r.message);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'segment-log-'));
    warnings = [];
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('assigns contiguous offsets and reads from any offset within count and byte limits', async () => {
    const log = open();
    for (let i = 0; i < 10; i++)
      expect(log.append(`m${i}`, 1000 + i)).toEqual({
        offset: i,
        message: `m${i}`,
        publishedAt: 1000 + i,
      });
    expect(log.firstOffset).toBe(0);
    expect(log.nextOffset).toBe(10);
    expect(log.read(7, 100, 1_000_000)).toEqual(
      [7, 8, 9].map((i) => ({ offset: i, message: `m${i}`, publishedAt: 1000 + i })),
    );
    expect(log.read(2, 3, 1_000_000).map((r) => r.offset)).toEqual([2, 3, 4]);
    // Each record costs its message plus 48 bytes of envelope: 100 bytes fits two.
    expect(log.read(0, 100, 100).map((r) => r.offset)).toEqual([0, 1]);
    // One record is returned even when it alone is over the byte limit.
    expect(log.read(0, 100, 1)).toHaveLength(1);
    expect(log.read(10, 100, 1_000_000)).toEqual([]);
    await log.close();
  });

  it('comes back after a restart with every record and goes on from the next offset', async () => {
    const first = open();
    const messages = ['plain', 'ünïcødé ✓ 🚀', '', 'x'.repeat(100 * 1024)];
    for (const message of messages) first.append(message, 42);
    await first.close();

    const reopened = open();
    expect(messagesOf(reopened)).toEqual(messages);
    expect(reopened.nextOffset).toBe(4);
    expect(reopened.append('after', 43).offset).toBe(4);
    expect(warnings).toEqual([]);
    await reopened.close();
  });

  it('keeps what was written when the process dies without closing the log', () => {
    const crashed = open();
    for (let i = 0; i < 5; i++) crashed.append(`m${i}`, 1);
    // No close and no sync: the writes are in the file already (page cache).
    const reopened = open();
    expect(messagesOf(reopened)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('rolls a new segment at the size limit and reads across segments through the sparse index', async () => {
    const log = open({ segmentBytes: 4096 });
    const messages = Array.from({ length: 2000 }, (_, i) => `message number ${i}`);
    for (const message of messages) log.append(message, 1);
    expect(log.segmentCount).toBeGreaterThan(10);
    expect(segmentFiles()[1]).toMatch(/^0000000000000000\d{4}\.log$/);
    for (const from of [0, 1, 99, 100, 1234, 1999]) {
      expect(log.read(from, 3, 1_000_000).map((r) => r.offset)).toEqual(
        [from, from + 1, from + 2].filter((o) => o < 2000),
      );
    }
    expect(messagesOf(log)).toEqual(messages);
    await log.close();
    expect(messagesOf(open({ segmentBytes: 4096 }), 1500)).toEqual(messages.slice(1500));
  });

  it('leaves the log as it was when a new segment cannot be created, and goes on once it can', async () => {
    const log = open({ segmentBytes: 4096 });
    log.append('a'.repeat(3000), 1);
    // Something in the way of the next segment file: its creation fails.
    mkdirSync(join(dir, '00000000000000000001.log'));
    let caught: unknown;
    try {
      log.append('b'.repeat(3000), 1);
    } catch (error) {
      caught = error;
    }
    expect((caught as PubSubError).code).toBe('STORAGE_ERROR');
    expect(log.nextOffset).toBe(1);
    expect(log.segmentCount).toBe(1);
    rmdirSync(join(dir, '00000000000000000001.log'));
    expect(log.append('c'.repeat(3000), 1).offset).toBe(1);
    expect(messagesOf(log)).toEqual(['a'.repeat(3000), 'c'.repeat(3000)]);
    await log.close();
    expect(messagesOf(open({ segmentBytes: 4096 }))).toEqual(['a'.repeat(3000), 'c'.repeat(3000)]);
  });

  it('holds no descriptor for a reopened log until it is used, and at most the cap for many', async () => {
    const files = new OpenFiles(8);
    const dirs = Array.from({ length: 40 }, (_, i) => join(dir, `topic-${i}`));
    const logs = dirs.map((logDir) => open({ dir: logDir, segmentBytes: 4096, files }));
    for (const log of logs) for (let i = 0; i < 300; i++) log.append(`m${i}`, 1);
    expect(files.openCount).toBeLessThanOrEqual(8);
    await Promise.all(logs.map((log) => log.close()));
    expect(files.openCount).toBe(0);
    const reopened = dirs.map((logDir) => open({ dir: logDir, segmentBytes: 4096, files }));
    expect(files.openCount).toBe(0);
    for (const log of reopened) expect(messagesOf(log)).toHaveLength(300);
    expect(files.openCount).toBeLessThanOrEqual(8);
    await Promise.all(reopened.map((log) => log.sync()));
  });

  it('gives a record larger than a segment a segment of its own', async () => {
    const log = open({ segmentBytes: 4096 });
    log.append('small', 1);
    log.append('y'.repeat(10_000), 1);
    log.append('next', 1);
    expect(messagesOf(log)).toEqual(['small', 'y'.repeat(10_000), 'next']);
    expect(log.segmentCount).toBe(3);
    await log.close();
  });

  it('cuts a torn last record on open, reports it, and reuses none of the surviving offsets', async () => {
    const log = open();
    for (let i = 0; i < 5; i++) log.append(`message ${i}`, 1);
    await log.close();
    const [file] = segmentFiles();
    const size = statSync(join(dir, file)).size;
    truncateSync(join(dir, file), size - 3);

    const recovered = open();
    expect(messagesOf(recovered)).toEqual(['message 0', 'message 1', 'message 2', 'message 3']);
    expect(recovered.nextOffset).toBe(4);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /cut 30 byte\(s\) from 00000000000000000000\.log \(torn record \(30 of 33 bytes\)\); kept up to offset 3/,
    );
    expect(recovered.append('replacement', 2).offset).toBe(4);
    await recovered.close();
    expect(messagesOf(open())).toEqual([
      'message 0',
      'message 1',
      'message 2',
      'message 3',
      'replacement',
    ]);
  });

  it('cuts a record whose bytes were corrupted (checksum mismatch) and everything after it', async () => {
    const log = open();
    for (let i = 0; i < 4; i++) log.append(`message ${i}`, 1);
    await log.close();
    const path = join(dir, segmentFiles()[0]);
    const bytes = readFileSync(path);
    // Flip one bit inside the third record's message (each record is 24 + 9 bytes).
    bytes[2 * 33 + 24 + 3] ^= 0x01;
    writeFileSync(path, bytes);

    const recovered = open();
    expect(messagesOf(recovered)).toEqual(['message 0', 'message 1']);
    expect(recovered.nextOffset).toBe(2);
    expect(warnings[0]).toMatch(/cut 66 byte\(s\).*checksum mismatch.*kept up to offset 1/);
    await recovered.close();
  });

  it('cuts garbage after the last whole record, and a torn header', async () => {
    const log = open();
    log.append('kept', 1);
    await log.close();
    const path = join(dir, segmentFiles()[0]);
    appendFileSync(path, Buffer.from([1, 2, 3, 4, 5, 6, 7]));
    expect(messagesOf(open())).toEqual(['kept']);
    expect(warnings[0]).toMatch(/cut 7 byte\(s\).*torn record header/);
    expect(statSync(path).size).toBe(24 + 4);

    appendFileSync(path, Buffer.alloc(64, 0xff));
    expect(messagesOf(open())).toEqual(['kept']);
    expect(warnings[1]).toMatch(/corrupt record length/);
  });

  it('stores a replica under the host offsets, dropping duplicates and keeping gaps', async () => {
    const replica = open();
    expect(replica.appendReplica({ offset: 500, message: 'a', publishedAt: 1 })).toBe(true);
    expect(replica.appendReplica({ offset: 500, message: 'a again', publishedAt: 1 })).toBe(false);
    expect(replica.appendReplica({ offset: 501, message: 'b', publishedAt: 1 })).toBe(true);
    expect(replica.appendReplica({ offset: 400, message: 'old', publishedAt: 1 })).toBe(false);
    expect(replica.appendReplica({ offset: 900, message: 'after a gap', publishedAt: 1 })).toBe(
      true,
    );
    expect(replica.firstOffset).toBe(500);
    expect(replica.nextOffset).toBe(901);
    expect(replica.read(502, 10, 1_000_000).map((r) => r.offset)).toEqual([900]);
    await replica.close();
    const reopened = open();
    expect(reopened.read(0, 10, 1_000_000).map((r) => r.offset)).toEqual([500, 501, 900]);
    expect(reopened.nextOffset).toBe(901);
  });

  it('starts a new log at a given offset (a deleted topic’s tombstone)', async () => {
    const log = open({ startOffset: 1234 });
    expect(log.firstOffset).toBe(1234);
    expect(log.append('first', 1).offset).toBe(1234);
    await log.close();
    expect(segmentFiles()).toEqual(['00000000000000001234.log']);
  });

  describe('retention', () => {
    it('trims whole segments by message count, keeping at least the limit', async () => {
      const log = open({ segmentBytes: 4096, retention: { ...KEEP_ALL, maxMessages: 300 } });
      // 24 + 28 bytes a record: 78 to a 4096-byte segment.
      for (let i = 0; i < 1000; i++) log.append(`message ${String(i).padStart(20, '0')}`, 1);
      const held = log.nextOffset - log.firstOffset;
      expect(held).toBeGreaterThanOrEqual(300);
      expect(held).toBeLessThanOrEqual(300 + 78);
      expect(log.read(0, 1, 1_000_000)[0].offset).toBe(log.firstOffset);
      expect(log.nextOffset).toBe(1000);
      await log.close();
      const reopened = open({ segmentBytes: 4096 });
      expect(reopened.firstOffset).toBe(1000 - held);
      expect(reopened.append('next', 1).offset).toBe(1000);
    });

    it('trims whole segments by bytes, keeping at least the limit', async () => {
      const log = open({ segmentBytes: 4096, retention: { ...KEEP_ALL, maxBytes: 10_000 } });
      for (let i = 0; i < 1000; i++) log.append('z'.repeat(100), 1);
      expect(log.sizeBytes).toBeGreaterThanOrEqual(10_000);
      expect(log.sizeBytes).toBeLessThan(10_000 + 4096);
      await log.close();
    });

    it('drops segments whose messages are all older than the age limit, and keeps the next offset when none is left', async () => {
      const log = open({ segmentBytes: 4096, retention: { ...KEEP_ALL, maxAgeMs: 1000 } });
      for (let i = 0; i < 200; i++) log.append(`old ${i}`, 10_000);
      for (let i = 0; i < 10; i++) log.append(`new ${i}`, 20_000);
      // At 20 500 the old ones are 10.5 s old, the new ones half a second.
      expect(log.trim(20_500)).toBeGreaterThan(0);
      expect(log.firstOffset).toBeGreaterThan(0);
      expect(messagesOf(log).slice(-10)).toEqual(Array.from({ length: 10 }, (_, i) => `new ${i}`));

      expect(log.trim(100_000)).toBeGreaterThan(0);
      expect(messagesOf(log)).toEqual([]);
      expect(log.firstOffset).toBe(210);
      expect(log.nextOffset).toBe(210);
      await log.close();
      const reopened = open({ segmentBytes: 4096 });
      expect(reopened.nextOffset).toBe(210);
      expect(reopened.append('after expiry', 1).offset).toBe(210);
    });
  });

  it('resolves every sync, however many are asked for while one runs', async () => {
    const log = open();
    const syncs: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      log.append(`m${i}`, 1);
      syncs.push(log.sync());
    }
    await expect(Promise.all(syncs)).resolves.toBeDefined();
    await log.close();
    expect(messagesOf(open())).toHaveLength(20);
  });

  it('counts records as synced only once a sync has finished, sealed segments included', async () => {
    const log = open({ segmentBytes: 4096 });
    expect(log.syncedOffset).toBe(0);
    log.append('one', 1);
    log.append('two', 1);
    expect(log.syncedOffset).toBe(0);
    await log.sync();
    expect(log.syncedOffset).toBe(2);
    // Rolling seals the full segment without syncing it on the event loop;
    // the next group commit covers it and the new segment alike.
    while (log.segmentCount === 1) log.append('z'.repeat(100), 1);
    expect(log.syncedOffset).toBe(2);
    await log.sync();
    expect(log.syncedOffset).toBe(log.nextOffset);
    await log.close();
    // What a restart finds counts as synced once its first sync is done.
    const reopened = open({ segmentBytes: 4096 });
    expect(reopened.syncedOffset).toBe(0);
    await reopened.sync();
    expect(reopened.syncedOffset).toBe(log.nextOffset);
  });

  it('deletes its files when destroyed', async () => {
    const log = open({ segmentBytes: 4096 });
    for (let i = 0; i < 500; i++) log.append(`m${i}`, 1);
    await log.destroy();
    expect(segmentFiles()).toEqual([]);
    expect(() => log.append('late', 1)).toThrow(/closed/);
  });
});
