// Guards the one signal that shows a stuck subscriber: while a subscriber
// peer is frozen (SIGSTOP) its host's lag for it must rise above 0, in the
// metrics, in list_consumers and in `pubsub status` (which also shows the
// frozen peer as unreachable), and come back to 0 once it runs again
// (SIGCONT) and catches up. Before, only a log warning showed anything.
import { execFile } from 'child_process';
import { promisify } from 'util';
import type { ClusterStatus } from '@p2p-pubsub/client/cli';
import { Cluster, startCluster } from './support/cluster';
import { metricValue, scrape } from './support/ops';
import { ENTRY } from './support/processes';
import { waitFor } from './support/wait';

const PUBLISHED = 20;
const run = promisify(execFile);

describe('subscriber lag while a subscriber peer is frozen', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(2, { peerArgs: ['--request-timeout-ms', '1000'] });
  });

  afterAll(async () => {
    cluster?.peers[1].signal('SIGCONT');
    await cluster?.stop();
  });

  it('is above 0 while it is stopped and returns to 0 after SIGCONT', async () => {
    const [host, subscriber] = cluster.clients;
    const [hostPeer, subscriberPeer] = cluster.peers;
    const subscriberId = `127.0.0.1:${subscriberPeer.port}`;
    const lagOf = async () =>
      metricValue(await scrape(hostPeer.opsPort!), 'pubsub_subscriber_lag_messages', {
        topic: 'Sports',
        subscriber: subscriberId,
      });
    const status = async (...args: string[]) =>
      (
        await run(process.execPath, [
          ENTRY.cli,
          'status',
          '--indexer',
          `127.0.0.1:${cluster.indexer.port}`,
          '--timeout-ms',
          '500',
          ...args,
        ])
      ).stdout;
    await host.createTopic('Sports');
    await subscriber.subscribe('Sports');
    // A consumer on the host that has read everything so far.
    await host.publish('Sports', 'before');
    expect((await host.pull('Sports', { consumer: 'audit' })).nextOffset).toBe(1);
    await waitFor(async () => (await lagOf()) === 0, { what: 'the subscriber to take the first' });
    const healthy = JSON.parse(await status('--json')) as ClusterStatus;
    expect(healthy.peers.map((peer) => peer.health)).toEqual(['ready', 'ready']);
    expect(healthy.topics).toEqual([
      { topic: 'Sports', host: `127.0.0.1:${hostPeer.port}`, endOffset: 1, subscribers: 1 },
    ]);

    subscriberPeer.signal('SIGSTOP');
    for (let i = 0; i < PUBLISHED; i++) await host.publish('Sports', `while frozen ${i}`);
    // The first batch may have left before the stop landed; the rest cannot.
    const frozenLag = await waitFor(
      async () => {
        const lag = await lagOf();
        return lag !== undefined && lag > 0 && lag;
      },
      { what: 'lag above 0' },
    );
    expect(frozenLag).toBeLessThanOrEqual(PUBLISHED);
    const listed = await host.listConsumers('Sports');
    expect(listed.subscribers).toEqual([
      expect.objectContaining({ topic: 'Sports', peerId: subscriberId, endOffset: 1 + PUBLISHED }),
    ]);
    expect(listed.subscribers[0].lag).toBeGreaterThan(0);
    const frozen = JSON.parse(await status('--json')) as ClusterStatus;
    expect(frozen.peers.find((peer) => peer.port === subscriberPeer.port)?.health).toBe(
      'unreachable',
    );
    expect(frozen.subscribers).toEqual([
      expect.objectContaining({
        topic: 'Sports',
        subscriber: subscriberId,
        endOffset: 1 + PUBLISHED,
      }),
    ]);
    expect(frozen.subscribers[0].lag).toBeGreaterThan(0);
    expect(frozen.consumers).toEqual([
      expect.objectContaining({ topic: 'Sports', consumer: 'audit', lag: PUBLISHED }),
    ]);
    const table = await status();
    expect(table).toMatch(/^Peers\nPEER +TCP +OPS +HEALTH/m);
    expect(table).toMatch(new RegExp(`${subscriberId} +${subscriberPeer.port} +\\d+ +unreachable`));
    expect(table).toMatch(/^Subscribers\nTOPIC +HOST +SUBSCRIBER +NEXT OFFSET +LAG +RETRIES/m);

    subscriberPeer.signal('SIGCONT');
    await waitFor(async () => (await lagOf()) === 0, {
      timeoutMs: 30_000,
      what: 'lag back to 0',
    });
    expect((await host.listConsumers('Sports')).subscribers[0]).toMatchObject({
      nextOffset: 1 + PUBLISHED,
      lag: 0,
    });
  });
});
