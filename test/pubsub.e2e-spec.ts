// Guards the core contract end to end: topics found through the indexer,
// every message delivered in order to every subscriber peer, consumers
// pulling each message once, and delete really deleting.
import { PeerClient, PulledMessage } from '@p2p-pubsub/client';
import { Cluster, startCluster } from './support/cluster';
import { expectCode } from './support/expect-error';
import { waitFor } from './support/wait';

async function pullAll(client: PeerClient, topic: string, count: number, consumer?: string) {
  const received: PulledMessage[] = [];
  await waitFor(
    async () => {
      const reply = await client.pull(topic, { consumer, max: 1000 });
      received.push(...reply.messages);
      return received.length >= count;
    },
    { what: `${count} messages on ${client.address}` },
  );
  return received;
}

describe('publish/subscribe across peers', () => {
  let cluster: Cluster;
  let host: PeerClient, second: PeerClient, third: PeerClient, fourth: PeerClient;

  beforeAll(async () => {
    cluster = await startCluster(4);
    [host, second, third, fourth] = cluster.clients;
  });

  afterAll(() => cluster?.stop());

  it('creates a topic on one peer that the indexer and other peers can find', async () => {
    const created = await host.createTopic('Sports');
    expect(created).toMatchObject({
      status: 'success',
      message: "Topic 'Sports' created",
      topic: 'Sports',
    });

    const found = await cluster.indexerClient.lookup('Sports');
    expect(found).toMatchObject({
      status: 'success',
      topic: 'Sports',
      port: cluster.peers[0].port,
    });

    const subscribed = await second.subscribe('Sports');
    expect(subscribed).toMatchObject({
      status: 'success',
      topic: 'Sports',
      hostPeer: found.peerId,
    });
  });

  it('refuses a second topic of the same name on another peer', async () => {
    await host.createTopic('Taken');
    await expectCode(fourth.createTopic('Taken'), 'TOPIC_EXISTS');
    await expectCode(host.createTopic('Taken'), 'TOPIC_EXISTS');
  });

  it('delivers every message in order to three subscriber peers, from the host and from a non-host peer', async () => {
    await host.createTopic('News');
    for (const peer of [second, third, fourth]) await peer.subscribe('News');

    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const publisher = i % 2 === 0 ? host : third;
      const message = `news ${i}`;
      const reply = await publisher.publish('News', message);
      expect(reply).toMatchObject({
        status: 'success',
        message: "Message published on topic 'News'",
        topic: 'News',
        offset: i,
      });
      sent.push(message);
    }
    for (const peer of [second, third, fourth]) {
      const received = await pullAll(peer, 'News', sent.length);
      expect(received.map((m) => m.message)).toEqual(sent);
      expect(received.map((m) => m.offset)).toEqual(sent.map((_, i) => i));
    }
  });

  it('delivers concurrent publishes to two subscribers in the host order', async () => {
    await second.createTopic('Weather');
    await host.subscribe('Weather');
    await third.subscribe('Weather');
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? fourth : second).publish('Weather', `w${i}`)),
    );
    const byOffset = replies
      .map((r, i) => ({ offset: r.offset, message: `w${i}` }))
      .sort((a, b) => a.offset - b.offset);
    expect(byOffset.map((r) => r.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    for (const peer of [host, third]) {
      const received = await pullAll(peer, 'Weather', 200);
      expect(received.map((m) => m.message)).toEqual(byOffset.map((r) => r.message));
    }
  });

  it('returns nothing new on a second pull, and gives each consumer every message', async () => {
    await host.createTopic('Pulls');
    await second.subscribe('Pulls');
    await host.publish('Pulls', 'one');
    await host.publish('Pulls', 'two');

    const first = await pullAll(second, 'Pulls', 2);
    expect(first.map((m) => m.message)).toEqual(['one', 'two']);
    const again = await second.pull('Pulls');
    expect(again.messages).toEqual([]);
    expect(again.nextOffset).toBe(2);

    const other = await second.pull('Pulls', { consumer: 'audit' });
    expect(other.messages.map((m) => m.message)).toEqual(['one', 'two']);
    // The host holds the topic too, and its consumers pull it the same way.
    const onHost = await host.pull('Pulls');
    expect(onHost.messages.map((m) => m.message)).toEqual(['one', 'two']);
  });

  it('round-trips a 100 KiB message and refuses one just over the limit', async () => {
    await host.createTopic('Big');
    await second.subscribe('Big');
    const big = 'x'.repeat(100 * 1024);
    await third.publish('Big', big);
    const [received] = await pullAll(second, 'Big', 1);
    expect(received.message).toBe(big);

    const tooBig = 'y'.repeat(1024 * 1024 + 1);
    const error = await expectCode(third.publish('Big', tooBig), 'PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('1048577 bytes');
    await expectCode(host.publish('Big', tooBig), 'PAYLOAD_TOO_LARGE');
    expect((await host.publish('Big', 'still fine')).offset).toBe(1);
  });

  it('deletes a topic: publish and lookup fail, subscriber peers forget it', async () => {
    await host.createTopic('Doomed');
    await second.subscribe('Doomed');
    await third.subscribe('Doomed');
    await host.publish('Doomed', 'last words');
    await pullAll(second, 'Doomed', 1);

    // Deleting through a non-host peer is forwarded to the host.
    const deleted = await third.deleteTopic('Doomed');
    expect(deleted).toMatchObject({ status: 'success', message: "Topic 'Doomed' deleted" });

    const notFound = await expectCode(host.publish('Doomed', 'again'), 'TOPIC_NOT_FOUND');
    expect(notFound.message).toBe("Topic 'Doomed' not found");
    await expectCode(second.publish('Doomed', 'again'), 'TOPIC_NOT_FOUND');
    await expectCode(cluster.indexerClient.lookup('Doomed'), 'TOPIC_NOT_FOUND');
    for (const peer of [second, third]) {
      await waitFor(async () => {
        await expectCode(peer.pull('Doomed'), 'NOT_SUBSCRIBED');
        return true;
      });
    }
  });

  it('publishing to a topic that never existed is TOPIC_NOT_FOUND', async () => {
    const error = await expectCode(second.publish('Nowhere', 'hello'), 'TOPIC_NOT_FOUND');
    expect(error.message).toBe("Topic 'Nowhere' not found");
    await expectCode(second.subscribe('Nowhere'), 'TOPIC_NOT_FOUND');
    await expectCode(second.pull('Nowhere'), 'NOT_SUBSCRIBED');
  });

  it('lists topics and peers for operators', async () => {
    await host.createTopic('Listed');
    await second.createTopic('AlsoListed');
    for (const peer of [second, third, fourth]) await peer.subscribe('Listed');

    const topics = await cluster.indexerClient.listTopics();
    expect(topics.topics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          topic: 'Listed',
          peerId: `127.0.0.1:${cluster.peers[0].port}`,
          epoch: expect.any(Number),
        }),
        expect.objectContaining({
          topic: 'AlsoListed',
          peerId: `127.0.0.1:${cluster.peers[1].port}`,
        }),
      ]),
    );
    const peers = await cluster.indexerClient.listPeers();
    expect(peers.peers.map((peer) => peer.port).sort()).toEqual(
      cluster.peers.map((peer) => peer.port).sort(),
    );
    const mine = await host.listTopics();
    expect(mine.hosted.find((t) => t.topic === 'Listed')?.subscribers.sort()).toEqual(
      cluster.peers
        .slice(1)
        .map((peer) => `127.0.0.1:${peer.port}`)
        .sort(),
    );
    expect((await fourth.listTopics()).subscribed).toEqual(
      expect.arrayContaining([expect.objectContaining({ topic: 'Listed' })]),
    );
  });
});
