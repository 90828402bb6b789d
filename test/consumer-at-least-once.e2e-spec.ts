// Guards at-least-once delivery to consumers (issue 8): a named consumer's
// long poll whose client left before anything arrived must not consume the
// next message; a pull with autoAck false leaves the position where it is,
// across kill -9, until an ack moves it (forward only, on both wires); and
// pipelined pulls of a live client still get successive batches, as the
// original's pull did.
import { PeerClient } from '@p2p-pubsub/client';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { BareJsonClient } from './support/bare-json';
import { Cluster, startCluster } from './support/cluster';
import { peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { expectCode } from './support/expect-error';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

const texts = (reply: { messages: Array<{ message: string }> }) =>
  reply.messages.map((message) => message.message);

describe('at-least-once delivery to consumers', () => {
  const dataDirs = new DataDirs();
  let cluster: Cluster;
  let client: PeerClient;

  beforeAll(async () => {
    cluster = await startCluster(1, { dataDirs });
    client = cluster.clients[0];
  });

  afterAll(async () => {
    await cluster?.stop();
    dataDirs.removeAll();
  });

  /** A new client after the peer restarted on its port (the old one's connection is gone). */
  async function restartPeer(signal: NodeJS.Signals): Promise<void> {
    await client.close();
    await cluster.peers[0].restart(signal);
    client = peerClient(cluster.peers[0].port);
    cluster.clients[0] = client;
  }

  it('does not consume the next message for a long poll whose client disconnected', async () => {
    await client.createTopic('Abandoned');
    const raw = new RawConnection(cluster.peers[0].port);
    await raw.write(
      nestFrame({
        pattern: PeerPatterns.Pull,
        data: { topic: 'Abandoned', consumer: 'worker', waitMs: 60_000 },
        id: 'poll',
      }),
    );
    // Dispatched after the pull on the same connection: once its reply is
    // here, the pull has been read and is parked.
    await raw.write(nestFrame({ pattern: PeerPatterns.ListTopics, data: {}, id: 'probe' }));
    await waitFor(() => parseNestFrames(raw.text).some((frame) => frame.id === 'probe'), {
      what: 'the probe behind the long poll',
    });
    raw.destroy();

    await client.publish('Abandoned', 'first');
    const reply = await client.pull('Abandoned', { consumer: 'worker' });
    expect(texts(reply)).toEqual(['first']);
  });

  it('keeps a position pulled without ack across kill -9, and moves it only on ack', async () => {
    await client.createTopic('Orders');
    for (const message of ['a', 'b', 'c']) await client.publish('Orders', message);

    const first = await client.pull('Orders', { consumer: 'billing', max: 2, autoAck: false });
    const again = await client.pull('Orders', { consumer: 'billing', max: 2, autoAck: false });
    expect([texts(first), texts(again)]).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(first.nextOffset).toBe(2);

    // A crash between receiving and processing loses nothing.
    await restartPeer('SIGKILL');
    const afterCrash = await client.pull('Orders', { consumer: 'billing', autoAck: false });
    expect(texts(afterCrash)).toEqual(['a', 'b', 'c']);

    await expect(client.ack('Orders', 2, { consumer: 'billing' })).resolves.toMatchObject({
      status: 'success',
      topic: 'Orders',
      consumer: 'billing',
      nextOffset: 2,
    });
    // Forward only, and idempotent.
    expect((await client.ack('Orders', 1, { consumer: 'billing' })).nextOffset).toBe(2);
    expect((await client.ack('Orders', 2, { consumer: 'billing' })).nextOffset).toBe(2);
    await expectCode(client.ack('Orders', 4, { consumer: 'billing' }), 'VALIDATION_FAILED');

    await restartPeer('SIGKILL');
    expect(texts(await client.pull('Orders', { consumer: 'billing', autoAck: false }))).toEqual([
      'c',
    ]);
    // Another consumer of the topic was never touched.
    expect(texts(await client.pull('Orders', { consumer: 'audit' }))).toEqual(['a', 'b', 'c']);
  });

  it('pulls without ack and acks over the bare JSON wire too', async () => {
    await client.createTopic('Bare');
    await client.publish('Bare', 'one');
    const bare = await BareJsonClient.connect(cluster.peers[0].port);
    const command = { command: 'pull', topic: 'Bare', consumer: 'script', autoAck: false };
    const first = await bare.request(command);
    expect(first).toMatchObject({ status: 'success', nextOffset: 1 });
    expect(texts(first)).toEqual(['one']);
    expect(texts(await bare.request(command))).toEqual(['one']);
    expect(
      await bare.request({ command: 'ack', topic: 'Bare', consumer: 'script', nextOffset: 1 }),
    ).toMatchObject({ status: 'success', consumer: 'script', nextOffset: 1 });
    expect(texts(await bare.request(command))).toEqual([]);
    await bare.close();
  });

  it('gives a live client that pipelines pulls successive batches, each message once', async () => {
    await client.createTopic('Pipelined');
    const published = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const message of published) await client.publish('Pipelined', message);

    const replies = await Promise.all(
      Array.from({ length: 10 }, () => client.pull('Pipelined', { consumer: 'fast', max: 2 })),
    );
    expect(replies.flatMap(texts).sort()).toEqual([...published].sort());
    expect(texts(await client.pull('Pipelined', { consumer: 'fast' }))).toEqual([]);

    // Handed over, so committed: a clean restart does not hand them out again.
    await restartPeer('SIGTERM');
    expect(texts(await client.pull('Pipelined', { consumer: 'fast' }))).toEqual([]);
  });
});
