// Guards the one signal that shows a stuck subscriber: while a subscriber
// peer is frozen (SIGSTOP) its host's lag for it must rise above 0, in the
// metrics and in list_consumers, and come back to 0 once it runs again
// (SIGCONT) and catches up. Before, only a log warning showed anything.
import { Cluster, startCluster } from './support/cluster';
import { metricValue, scrape } from './support/ops';
import { waitFor } from './support/wait';

const PUBLISHED = 20;

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
    await host.createTopic('Sports');
    await subscriber.subscribe('Sports');
    expect(await lagOf()).toBe(0);

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
      expect.objectContaining({ topic: 'Sports', peerId: subscriberId, endOffset: PUBLISHED }),
    ]);
    expect(listed.subscribers[0].lag).toBeGreaterThan(0);

    subscriberPeer.signal('SIGCONT');
    await waitFor(async () => (await lagOf()) === 0, {
      timeoutMs: 30_000,
      what: 'lag back to 0',
    });
    expect((await host.listConsumers('Sports')).subscribers[0]).toMatchObject({
      nextOffset: PUBLISHED,
      lag: 0,
    });
  });
});
