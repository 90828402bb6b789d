// Guards what a restarted peer finds in its data directory: its hosted and
// replicated topics with their roles and hosts, offsets that go on after a
// delete and re-create, and a directory no second peer can open.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Logger } from '@nestjs/common';
import { ConfigError } from '@p2p-pubsub/server';
import { PeerConfig } from '../peer.config';
import { LogStore } from './log-store';

/** Polls a condition the timers under test make true (bounded by jest's timeout). */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('LogStore', () => {
  let dataDir: string;
  const stores: LogStore[] = [];

  const start = (settings: Partial<PeerConfig> = {}) => {
    const config = Object.assign(new PeerConfig(), { dataDir, ...settings });
    const store = new LogStore(config);
    store.onModuleInit();
    stores.push(store);
    return store;
  };
  const stop = async (store: LogStore) => {
    stores.splice(stores.indexOf(store), 1);
    await store.onApplicationShutdown();
  };

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'log-store-'));
  });

  afterEach(async () => {
    for (const store of [...stores]) await stop(store);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reopens hosted and replicated topics with their messages, roles and hosts', async () => {
    const store = start();
    const hosted = await store.open('Sports', 'hosted');
    await store.append('Sports', hosted.log, 'goal');
    const host = { peerId: '127.0.0.1:7000', host: '127.0.0.1', port: 7000 };
    const replica = await store.open('News', 'replica', host);
    await store.appendReplica('News', replica.log, [
      { offset: 41, message: 'headline', publishedAt: 5 },
    ]);
    await stop(store);

    const restarted = start();
    expect(restarted.topicsWithRole('hosted')).toEqual(['Sports']);
    expect(restarted.topicsWithRole('replica')).toEqual(['News']);
    expect(
      restarted
        .get('Sports')
        ?.log.read(0, 10, 1e6)
        .map((r) => r.message),
    ).toEqual(['goal']);
    expect(restarted.get('News')?.host).toEqual(host);
    expect(restarted.get('News')?.log.read(0, 10, 1e6)).toEqual([
      { offset: 41, message: 'headline', publishedAt: 5 },
    ]);
  });

  it('keeps a topic’s service journals with it, and deletes them with it', async () => {
    const store = start();
    await store.open('Sports', 'hosted');
    await store.journal<number>('Sports', 'consumers').set('default', 3);
    await stop(store);

    const restarted = start();
    expect(restarted.journal<number>('Sports', 'consumers').get('default')).toBe(3);
    await restarted.drop('Sports');
    await restarted.open('Sports', 'hosted');
    expect(restarted.journal<number>('Sports', 'consumers').get('default')).toBeUndefined();
  });

  it('goes on from the old next offset when a deleted hosted topic is created again, also after a restart', async () => {
    const store = start();
    const first = await store.open('Sports', 'hosted');
    for (let i = 0; i < 3; i++) await store.append('Sports', first.log, `m${i}`);
    await store.drop('Sports');
    expect(store.get('Sports')).toBeUndefined();
    await stop(store);

    const restarted = start();
    expect(restarted.get('Sports')).toBeUndefined();
    const again = await restarted.open('Sports', 'hosted');
    expect((await restarted.append('Sports', again.log, 'reborn')).offset).toBe(3);
    await restarted.drop('Sports');
    const third = await restarted.open('Sports', 'hosted');
    expect(third.log.nextOffset).toBe(4);
  });

  it('keeps a topic created again while its deletion is still removing files', async () => {
    const store = start();
    const first = await store.open('Sports', 'hosted');
    for (let i = 0; i < 3; i++) await store.append('Sports', first.log, `old ${i}`);
    const dropping = store.drop('Sports');
    const again = await store.open('Sports', 'hosted');
    await store.append('Sports', again.log, 'new');
    await dropping;
    await stop(store);
    const restarted = start();
    expect(
      restarted
        .get('Sports')
        ?.log.read(0, 10, 1e6)
        .map((r) => [r.offset, r.message]),
    ).toEqual([[3, 'new']]);
  });

  it('tells listeners about appends (not duplicates) and drops', async () => {
    const store = start();
    const events: string[] = [];
    store.onAppend((topic) => events.push(`append ${topic}`));
    store.onDrop((topic) => events.push(`drop ${topic}`));
    const replica = await store.open('News', 'replica', { peerId: 'h:1', host: 'h', port: 1 });
    await store.appendReplica('News', replica.log, [{ offset: 0, message: 'a', publishedAt: 1 }]);
    await store.appendReplica('News', replica.log, [{ offset: 0, message: 'a', publishedAt: 1 }]);
    await store.drop('News');
    expect(events).toEqual(['append News', 'drop News']);
  });

  it('with FSYNC=always, acknowledges appends once synced and lets nobody read past what is synced', async () => {
    const store = start({ fsync: 'always' });
    const hosted = await store.open('Sports', 'hosted');
    const appends = Array.from({ length: 50 }, (_, i) =>
      store.append('Sports', hosted.log, `m${i}`),
    );
    // Written, not yet synced: not readable, not acknowledged.
    expect(hosted.log.nextOffset).toBe(50);
    expect(store.readableEnd(hosted)).toBe(0);
    const records = await Promise.all(appends);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(hosted.log.syncedOffset).toBe(50);
    expect(store.readableEnd(hosted)).toBe(50);
  });

  it('with FSYNC=interval, reads up to the last append and syncs on the timer', async () => {
    const store = start({ fsync: 'interval', fsyncIntervalMs: 10 });
    const hosted = await store.open('Sports', 'hosted');
    await store.append('Sports', hosted.log, 'm0');
    expect(store.readableEnd(hosted)).toBe(1);
    await waitUntil(() => hosted.log.syncedOffset === 1);
  });

  it('refuses a topic past MAX_TOPICS, hosted and replicas together, with LIMIT_EXCEEDED', async () => {
    const store = start({ maxTopics: 2 });
    await store.open('Sports', 'hosted');
    await store.open('News', 'replica', { peerId: 'h:1', host: 'h', port: 1 });
    await expect(store.open('Weather', 'hosted')).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect(() => store.assertRoomForTopic()).toThrow(/MAX_TOPICS/);
    await store.drop('News');
    await store.open('Weather', 'hosted');
    expect(readdirSync(join(dataDir, 'topics'))).toHaveLength(2);
  });

  it('removes a topic directory left half-created by a crash', async () => {
    const leftover = join(dataDir, 'topics', 'Half-0000000000000000');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, '00000000000000000000.log'), '');
    const store = start();
    expect(store.topicsWithRole('hosted')).toEqual([]);
    expect(readdirSync(join(dataDir, 'topics'))).toEqual([]);
  });

  it('keeps topics whose names are not valid file names apart', async () => {
    const store = start();
    for (const topic of ['.', '..', 'Sports', 'sports', 'x'.repeat(255)])
      await store.open(topic, 'hosted');
    await stop(store);
    expect(start().topicsWithRole('hosted').sort()).toEqual(
      ['.', '..', 'Sports', 'sports', 'x'.repeat(255)].sort(),
    );
  });

  it('refuses a data directory whose lock names another live process', () => {
    // The parent process (jest's) stands in for another peer on this directory.
    writeFileSync(join(dataDir, 'LOCK'), String(process.ppid));
    expect(() => start()).toThrow(ConfigError);
    expect(() => start()).toThrow(`in use by process ${process.ppid}`);
  });

  it('takes over the lock a killed peer left behind', () => {
    // No process has pid 2^22 + 1: Linux pids stop at 2^22.
    writeFileSync(join(dataDir, 'LOCK'), String(2 ** 22 + 1));
    expect(() => start()).not.toThrow();
  });

  it('uses a temporary directory, removed on shutdown, when no data directory is configured', async () => {
    const store = start({ dataDir: undefined });
    const path = store.dataPath;
    expect(path).not.toBe(dataDir);
    await store.open('Sports', 'hosted');
    await stop(store);
    expect(() => readdirSync(path)).toThrow(/ENOENT/);
  });
});
