// Guards the metrics against saying something other than what happened:
// after a known scenario (publishes of known sizes, subscribers, consumers,
// refused requests) every counter and gauge equals what was done, the
// indexer counts its peers and claims, topic labels can be switched off,
// and what /metrics serves passes `promtool check metrics`.
import { Cluster, startCluster } from './support/cluster';
import { expectCode } from './support/expect-error';
import { metricValue, promtoolCheckMetrics, scrape } from './support/ops';
import { pullUntil } from './support/pull';
import { waitFor } from './support/wait';

const MESSAGES = ['one', 'two', 'three', 'a message of some length', 'ünïcödé'];
const BYTES = MESSAGES.reduce((sum, message) => sum + Buffer.byteLength(message, 'utf8'), 0);

describe('metrics after a scenario', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(3);
  });

  afterAll(() => cluster?.stop());

  it('count what was done: publishes, bytes, offsets, lag, requests and errors', async () => {
    const [host, subscriber1, subscriber2] = cluster.clients;
    const [hostPeer, subscriberPeer1, subscriberPeer2] = cluster.peers;
    await host.createTopic('Sports');
    await subscriber1.subscribe('Sports', 'earliest');
    await subscriber2.subscribe('Sports', 'earliest');
    for (const message of MESSAGES) await host.publish('Sports', message);
    // A consumer on the host reads two; one on a subscriber reads everything.
    await host.pull('Sports', { consumer: 'audit', max: 2 });
    await pullUntil(subscriber1, 'Sports', MESSAGES.length, { consumer: 'app' });
    await expectCode(host.publish('Nowhere', 'x'), 'TOPIC_NOT_FOUND');
    await expectCode(host.send('publish', { topic: 'Sports' }), 'VALIDATION_FAILED');

    const hostText = await waitFor(
      async () => {
        const text = await scrape(hostPeer.opsPort!);
        const lag = (peer: number) =>
          metricValue(text, 'pubsub_subscriber_lag_messages', {
            topic: 'Sports',
            subscriber: `127.0.0.1:${peer}`,
          });
        return lag(subscriberPeer1.port) === 0 && lag(subscriberPeer2.port) === 0 && text;
      },
      { what: 'both subscribers to catch up' },
    );
    const on = (name: string, labels: Record<string, string> = {}) =>
      metricValue(hostText, name, labels);
    expect(on('pubsub_topic_publishes_total', { topic: 'Sports' })).toBe(MESSAGES.length);
    expect(on('pubsub_topic_published_bytes_total', { topic: 'Sports' })).toBe(BYTES);
    expect(on('pubsub_topic_publish_duration_seconds_count', { topic: 'Sports' })).toBe(
      MESSAGES.length,
    );
    expect(
      on('pubsub_topic_publish_duration_seconds_bucket', { topic: 'Sports', le: '+Inf' }),
    ).toBe(MESSAGES.length);
    expect(on('pubsub_topic_end_offset', { topic: 'Sports', role: 'hosted' })).toBe(
      MESSAGES.length,
    );
    expect(on('pubsub_consumer_lag_messages', { topic: 'Sports', consumer: 'audit' })).toBe(
      MESSAGES.length - 2,
    );
    // Both refused publishes are requests; neither is a publish to the topic.
    expect(on('pubsub_requests_total', { pattern: 'publish' })).toBe(MESSAGES.length + 2);
    expect(on('pubsub_requests_total', { pattern: 'create_topic' })).toBe(1);
    expect(on('pubsub_requests_total', { pattern: 'peer.add_subscriber' })).toBe(2);
    expect(on('pubsub_request_errors_total', { pattern: 'publish', code: 'TOPIC_NOT_FOUND' })).toBe(
      1,
    );
    expect(
      on('pubsub_request_errors_total', { pattern: 'publish', code: 'VALIDATION_FAILED' }),
    ).toBe(1);
    expect(on('pubsub_peer_registered')).toBe(1);
    expect(on('pubsub_connections')).toBeGreaterThanOrEqual(1);
    expect(on('pubsub_requests_in_flight')).toBe(0);
    expect(on('process_open_fds')).toBeGreaterThan(0);
    expect(on('nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(on('process_resident_memory_bytes')).toBeGreaterThan(0);

    const subscriberText = await scrape(subscriberPeer1.opsPort!);
    expect(
      metricValue(subscriberText, 'pubsub_topic_end_offset', { topic: 'Sports', role: 'replica' }),
    ).toBe(MESSAGES.length);
    expect(
      metricValue(subscriberText, 'pubsub_consumer_lag_messages', {
        topic: 'Sports',
        consumer: 'app',
      }),
    ).toBe(0);
    expect(
      metricValue(subscriberText, 'pubsub_requests_total', { pattern: 'peer.deliver' }),
    ).toBeGreaterThanOrEqual(1);

    const indexerText = await scrape(cluster.indexer.opsPort!);
    expect(metricValue(indexerText, 'pubsub_indexer_peers')).toBe(3);
    expect(metricValue(indexerText, 'pubsub_indexer_topics')).toBe(1);
    expect(metricValue(indexerText, 'pubsub_indexer_claims_total')).toBe(1);
    expect(metricValue(indexerText, 'pubsub_indexer_leases_expired_total')).toBe(0);
    expect(metricValue(indexerText, 'pubsub_requests_total', { pattern: 'register' })).toBe(3);

    for (const text of [hostText, subscriberText, indexerText]) {
      expect(promtoolCheckMetrics(text)).toBe('');
    }
  });

  it('counts a pattern no handler serves under "unknown", whatever it is called', async () => {
    const [host] = cluster.clients;
    await expect(host.send('no.such.pattern', {})).rejects.toThrow();
    await expect(host.send('another.made.up.one', {})).rejects.toThrow();
    const text = await scrape(cluster.peers[0].opsPort!);
    expect(metricValue(text, 'pubsub_requests_total', { pattern: 'unknown' })).toBe(2);
    expect(
      metricValue(text, 'pubsub_request_errors_total', {
        pattern: 'unknown',
        code: 'UNKNOWN_COMMAND',
      }),
    ).toBe(2);
    expect(text).not.toMatch(/no\.such\.pattern|another\.made\.up\.one/);
  });
});

describe('metrics with topic labels off', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(2, { peerArgs: ['--metrics-topic-labels', 'off'] });
  });

  afterAll(() => cluster?.stop());

  it('sums every series over topics and names no topic or consumer', async () => {
    const [host, subscriber] = cluster.clients;
    for (const topic of ['Alpha', 'Beta', 'Gamma']) {
      await host.createTopic(topic);
      await subscriber.subscribe(topic, 'earliest');
      await host.publish(topic, `${topic} news`);
      await host.pull(topic, { consumer: `reader-${topic}`, max: 1 });
    }
    const text = await waitFor(
      async () => {
        const scraped = await scrape(cluster.peers[0].opsPort!);
        return (
          metricValue(scraped, 'pubsub_subscriber_lag_messages', {
            subscriber: `127.0.0.1:${cluster.peers[1].port}`,
          }) === 0 && scraped
        );
      },
      { what: 'the subscriber to catch up' },
    );
    expect(text).not.toMatch(/topic="|consumer="/);
    expect(metricValue(text, 'pubsub_topic_publishes_total')).toBe(3);
    expect(metricValue(text, 'pubsub_topic_end_offset', { role: 'hosted' })).toBe(3);
    expect(metricValue(text, 'pubsub_consumer_lag_messages')).toBe(0);
    expect(metricValue(text, 'pubsub_topic_publish_duration_seconds_count')).toBe(3);
    expect(promtoolCheckMetrics(text)).toBe('');
  });
});
