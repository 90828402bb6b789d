// Guards the bare-JSON wire as the original's scripts used it: one object
// with no newline on a socket kept open, several commands on one connection,
// messages past the original's 1 KiB read, bad input answered without taking
// down the connection or the process, oversized commands refused like
// oversized frames, the indexer's old command names, and Nest clients on the
// same port unaffected throughout.
import { PeerClient } from '@p2p-pubsub/client';
import { BareJsonClient, ncat } from './support/bare-json';
import { Cluster, startCluster } from './support/cluster';
import { waitFor } from './support/wait';

/** The indexer is started with a 1 KiB message limit, so its frame limit is this many bytes. */
const INDEXER_FRAME_LIMIT = 1024 * 6 + 64 * 1024;

describe('bare JSON commands in the style of the original scripts', () => {
  let cluster: Cluster;
  let hostPort: number, subscriberPort: number, thirdPort: number;
  let hostClient: PeerClient;

  /** Pulls on `port` over bare JSON until `count` messages have arrived. */
  async function pullBare(port: number, topic: string, count: number): Promise<string[]> {
    const received: string[] = [];
    await waitFor(
      async () => {
        const client = await BareJsonClient.connect(port);
        const reply = await client.request({ command: 'pull', topic });
        await client.close();
        expect(reply).toMatchObject({ status: 'success', topic });
        received.push(...reply.messages.map((m: { message: string }) => m.message));
        return received.length >= count;
      },
      { what: `${count} message(s) on ${topic} at port ${port}` },
    );
    return received;
  }

  beforeAll(async () => {
    cluster = await startCluster(3, {
      // A small frame limit on the indexer makes an oversized command cheap to
      // send; a long lease keeps the made-up peers of the alias test registered.
      indexerArgs: ['--max-message-bytes', '1024', '--peer-lease-ms', '600000'],
    });
    [hostPort, subscriberPort, thirdPort] = cluster.peers.map((peer) => peer.port);
    hostClient = cluster.clients[0];
    // Created through a Nest client: bare commands below find it too.
    await hostClient.createTopic('Hosted');
  });

  afterAll(() => cluster?.stop());

  it('answers one object sent without a newline on a socket kept open', async () => {
    const client = await BareJsonClient.connect(hostPort);
    expect(await client.request('{"command": "create_topic", "topic": "Scripts"}')).toEqual({
      status: 'success',
      message: "Topic 'Scripts' created",
      topic: 'Scripts',
    });
    expect(client.isClosed).toBe(false);
    expect(
      await client.request('{"command": "publish", "topic": "Scripts", "message": "hello"}'),
    ).toMatchObject({ status: 'success', topic: 'Scripts', offset: 0 });
    await client.close();
  });

  it('answers several commands on one connection in the order they were sent', async () => {
    const client = await BareJsonClient.connect(hostPort);
    // All in one write, separated by nothing, a newline, CRLF and spaces.
    client.send(
      [
        '{"command": "create_topic", "topic": "Ordered"}',
        '{"command": "publish", "topic": "Ordered", "message": "m0"}\n',
        '{"command": "publish", "topic": "Missing", "message": "lost"}\r\n',
        '{"command": "publish", "topic": "Ordered", "message": "m1"}  ',
        '{"command": "publish", "topic": "Ordered", "message": "m2"}',
        '{"command": "pull", "topic": "Ordered"}',
      ].join(''),
    );
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await client.nextReply());
    expect(replies[0]).toMatchObject({ status: 'success', topic: 'Ordered' });
    expect(replies[1]).toMatchObject({ status: 'success', offset: 0 });
    expect(replies[2]).toEqual({
      status: 'error',
      code: 'TOPIC_NOT_FOUND',
      message: "Topic 'Missing' not found",
    });
    expect(replies[3]).toMatchObject({ status: 'success', offset: 1 });
    expect(replies[4]).toMatchObject({ status: 'success', offset: 2 });
    expect(replies[5].messages.map((m: { message: string }) => m.message)).toEqual([
      'm0',
      'm1',
      'm2',
    ]);
    await client.close();
  });

  it('answers thousands of commands pipelined in one write, in order', async () => {
    const client = await BareJsonClient.connect(hostPort);
    expect(await client.request({ command: 'create_topic', topic: 'Pipelined' })).toMatchObject({
      status: 'success',
    });
    // Far more than one read: the server pauses reading while commands wait
    // and must resume, or this hangs.
    const count = 3000;
    client.send(
      Array.from({ length: count }, (_, i) =>
        JSON.stringify({ command: 'publish', topic: 'Pipelined', message: `p${i}` }),
      ).join(''),
    );
    const offsets: number[] = [];
    for (let i = 0; i < count; i++) offsets.push((await client.nextReply()).offset);
    expect(offsets).toEqual(Array.from({ length: count }, (_, i) => i));
    await client.close();
  });

  it('round-trips messages longer than 1 KiB and of 100 KiB through subscriber peers', async () => {
    expect(await ncat(hostPort, '{"command": "create_topic", "topic": "Long"}\n')).toContain(
      '"status":"success"',
    );
    expect(await ncat(subscriberPort, '{"command": "subscribe", "topic": "Long"}\n')).toContain(
      '"status":"success"',
    );
    // Multi-byte characters make TCP split some of them across reads.
    const justOver1KiB = 'Größe ☕ 🎉 '.repeat(80);
    expect(Buffer.byteLength(justOver1KiB)).toBeGreaterThan(1024);
    const hundredKiB = 'é'.repeat(50 * 1024);
    expect(Buffer.byteLength(hundredKiB)).toBe(100 * 1024);

    // Published from a peer that does not host the topic: forwarded to the host.
    const publisher = await BareJsonClient.connect(thirdPort);
    for (const [offset, message] of [justOver1KiB, hundredKiB].entries()) {
      const reply = await publisher.request({ command: 'publish', topic: 'Long', message });
      expect(reply).toMatchObject({ status: 'success', topic: 'Long', offset });
    }
    await publisher.close();

    expect(await pullBare(subscriberPort, 'Long', 2)).toEqual([justOver1KiB, hundredKiB]);
    // The framed transport sees the same log.
    const onHost = await hostClient.pull('Long', { consumer: 'framed' });
    expect(onHost.messages.map((m) => m.message)).toEqual([justOver1KiB, hundredKiB]);
  });

  it('answers bad input with an error, keeps the connection usable and the process serving', async () => {
    const client = await BareJsonClient.connect(hostPort);
    const refusals: Array<[string, string]> = [
      ['hello\n', 'VALIDATION_FAILED'],
      ['{"command": "publish", "topic": }', 'VALIDATION_FAILED'],
      ['[1,2]', 'VALIDATION_FAILED'],
      ['"str"', 'VALIDATION_FAILED'],
      ['{"topic": "Scripts"}', 'VALIDATION_FAILED'],
      ['{"command": 42}', 'VALIDATION_FAILED'],
      ['{"command": "no_such_command"}', 'UNKNOWN_COMMAND'],
      // Peer-to-peer patterns, ours and the original's, are not reachable bare.
      ['{"command": "peer.deliver", "topic": "Scripts", "records": []}', 'UNKNOWN_COMMAND'],
      [
        '{"command": "peer.add_subscriber", "topic": "Scripts", "host": "x", "port": 1}',
        'UNKNOWN_COMMAND',
      ],
      ['{"command": "receive_message", "topic": "Scripts", "message": "x"}', 'UNKNOWN_COMMAND'],
      // Reaches the handler's ValidationPipe, as a framed request would.
      ['{"command": "publish", "topic": "Scripts"}', 'VALIDATION_FAILED'],
      ['{"command": "create_topic", "topic": "no spaces allowed"}', 'VALIDATION_FAILED'],
      ['{"command": "create_topic", "topic": "Extra", "owner": "me"}', 'VALIDATION_FAILED'],
    ];
    for (const [input, code] of refusals) {
      const reply = await client.request(input);
      expect({ input, reply }).toMatchObject({
        input,
        reply: { status: 'error', code, message: expect.any(String) },
      });
    }

    // The same connection still works, and so does a Nest client on the port.
    expect(await client.request({ command: 'list_topics' })).toMatchObject({ status: 'success' });
    await client.close();
    await expect(hostClient.publish('Hosted', 'framed')).resolves.toMatchObject({
      status: 'success',
    });
    expect(cluster.peers[0].running).toBe(true);
  });

  it('answers input that ends inside an object, then closes as ncat expects', async () => {
    const output = await ncat(
      hostPort,
      '{"command": "publish", "topic": "Scripts", "message": "cut\n',
    );
    expect(JSON.parse(output)).toEqual({
      status: 'error',
      code: 'VALIDATION_FAILED',
      message: 'The input ended inside a JSON value',
    });
  });

  it('refuses a command larger than the frame limit and closes, like an oversized frame', async () => {
    const client = await BareJsonClient.connect(cluster.indexer.port);
    expect(await client.request({ command: 'query_topic', topic: 'Hosted' })).toMatchObject({
      status: 'success',
    });
    client.send(`{"command": "query_topic", "topic": "${'x'.repeat(INDEXER_FRAME_LIMIT)}"}`);
    expect(await client.nextReply()).toEqual({
      status: 'error',
      code: 'PAYLOAD_TOO_LARGE',
      message: `The command is larger than the limit of ${INDEXER_FRAME_LIMIT} bytes`,
      details: { limitBytes: INDEXER_FRAME_LIMIT },
    });
    await client.serverClosed();

    // The indexer keeps serving bare and framed clients.
    const next = await BareJsonClient.connect(cluster.indexer.port);
    expect(await next.request({ command: 'query_topic', topic: 'Hosted' })).toMatchObject({
      status: 'success',
      port: hostPort,
    });
    await next.close();
    await expect(cluster.indexerClient.lookup('Hosted')).resolves.toMatchObject({
      port: hostPort,
    });
  });

  it("speaks the original indexer's commands, replying to query_topic with host and port", async () => {
    const indexer = await BareJsonClient.connect(cluster.indexer.port);
    const legacy = { host: '10.9.8.7', port: 7001 };
    expect(await indexer.request({ command: 'register_peer', ...legacy })).toMatchObject({
      status: 'success',
      message: 'Peer 10.9.8.7:7001 registered',
      peerId: '10.9.8.7:7001',
    });
    expect(
      await indexer.request({ command: 'add_topic', ...legacy, topic: 'Legacy' }),
    ).toMatchObject({
      status: 'success',
      message: "Topic 'Legacy' created",
    });
    expect(await indexer.request({ command: 'query_topic', topic: 'Legacy' })).toMatchObject({
      status: 'success',
      topic: 'Legacy',
      ...legacy,
    });
    // A topic a real peer created is found the same way.
    expect(await indexer.request({ command: 'query_topic', topic: 'Hosted' })).toMatchObject({
      status: 'success',
      host: '127.0.0.1',
      port: hostPort,
    });
    expect(
      await indexer.request({ command: 'delete_topic', ...legacy, topic: 'Legacy' }),
    ).toMatchObject({ status: 'success' });
    expect(await indexer.request({ command: 'query_topic', topic: 'Legacy' })).toMatchObject({
      status: 'error',
      code: 'TOPIC_NOT_FOUND',
    });
    expect(await indexer.request({ command: 'unregister_peer', ...legacy })).toMatchObject({
      status: 'success',
      message: 'Peer 10.9.8.7:7001 unregistered',
    });
    expect(await indexer.request({ command: 'unregister_peer', ...legacy })).toMatchObject({
      status: 'error',
      code: 'UNKNOWN_PEER',
    });
    // What only peers send the indexer is not reachable bare.
    expect(await indexer.request({ command: 'heartbeat', peerId: 'x' })).toMatchObject({
      status: 'error',
      code: 'UNKNOWN_COMMAND',
    });
    await indexer.close();
  });
});
