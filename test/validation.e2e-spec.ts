// Guards against the original's habit of accepting anything: it created a
// topic named "None" for a command without a topic. Every malformed payload
// must come back as VALIDATION_FAILED and change nothing.
import { IndexerPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import { Cluster, startCluster } from './support/cluster';
import { expectCode } from './support/expect-error';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

describe('payload validation', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster(1);
  });

  afterAll(() => cluster?.stop());

  const badCreatePayloads: Array<[string, unknown]> = [
    ['no topic', {}],
    ['a string payload', 'Sports'],
    ['an array payload', ['Sports']],
    ['a number for the topic', { topic: 42 }],
    ['null for the topic', { topic: null }],
    ['an unknown field', { topic: 'Sports', owner: 'me' }],
    ['an empty name', { topic: '' }],
    ['a name with spaces', { topic: 'two words' }],
    ['a path as name', { topic: '../etc/passwd' }],
    ['a 256-character name', { topic: 'a'.repeat(256) }],
  ];

  /** Every topic the peer and the indexer know of. */
  async function knownTopics(): Promise<unknown> {
    const [atPeer, atIndexer] = await Promise.all([
      cluster.clients[0].listTopics(),
      cluster.indexerClient.listTopics(),
    ]);
    return { hosted: atPeer.hosted, indexed: atIndexer.topics };
  }

  it.each(badCreatePayloads)(
    'refuses create_topic with %s, and creates nothing',
    async (_what, payload) => {
      const before = await knownTopics();
      const error = await expectCode(
        cluster.clients[0].send(PeerPatterns.CreateTopic, payload),
        'VALIDATION_FAILED',
      );
      expect(error.message).toMatch(/^Invalid payload/);
      expect(await knownTopics()).toEqual(before);
    },
  );

  it('refuses a null payload sent as a raw frame', async () => {
    const before = await knownTopics();
    const raw = new RawConnection(cluster.peers[0].port);
    await raw.write(nestFrame({ pattern: PeerPatterns.CreateTopic, data: null, id: 'n' }));
    const [reply] = await waitFor(
      () => parseNestFrames(raw.text).length > 0 && parseNestFrames(raw.text),
    );
    expect(reply).toMatchObject({ id: 'n', err: { status: 'error', code: 'VALIDATION_FAILED' } });
    raw.destroy();
    expect(await knownTopics()).toEqual(before);
  });

  it('accepts a 255-character name of every allowed character class', async () => {
    const name = `Az09._-${'x'.repeat(248)}`;
    await expect(cluster.clients[0].createTopic(name)).resolves.toMatchObject({
      status: 'success',
      topic: name,
    });
  });

  it('names the offending field in the error details', async () => {
    const error = await expectCode(
      cluster.clients[0].send(PeerPatterns.Publish, { topic: 'Sports', message: 7 }),
      'VALIDATION_FAILED',
    );
    expect(error.details).toEqual(['message must be a string']);
  });

  it.each([
    ['max 0', { topic: 'Sports', max: 0 }],
    ['max 5000', { topic: 'Sports', max: 5000 }],
    ['a fractional max', { topic: 'Sports', max: 1.5 }],
    ['a negative fromOffset', { topic: 'Sports', fromOffset: -1 }],
    ['a bad consumer name', { topic: 'Sports', consumer: 'a b' }],
  ])('refuses pull with %s', async (_what, payload) => {
    await expectCode(cluster.clients[0].send(PeerPatterns.Pull, payload), 'VALIDATION_FAILED');
  });

  it.each([
    ['a bad start position', { topic: 'Sports', from: 'middle' }],
    ['a negative start offset', { topic: 'Sports', from: -3 }],
  ])('refuses subscribe with %s', async (_what, payload) => {
    await expectCode(cluster.clients[0].send(PeerPatterns.Subscribe, payload), 'VALIDATION_FAILED');
  });

  it('refuses arguments to patterns that take none', async () => {
    await expectCode(
      cluster.clients[0].send(PeerPatterns.ListTopics, { all: true }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      cluster.indexerClient.send(IndexerPatterns.ListPeers, { verbose: 1 }),
      'VALIDATION_FAILED',
    );
  });

  it('validates indexer payloads too', async () => {
    await expectCode(
      cluster.indexerClient.send(IndexerPatterns.Register, { host: 'h', port: 70000 }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      cluster.indexerClient.send(IndexerPatterns.Register, { host: 'h', port: '5555' }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      cluster.indexerClient.send(IndexerPatterns.Lookup, { topic: 'bad name' }),
      'VALIDATION_FAILED',
    );
    expect((await cluster.indexerClient.listPeers()).peers).toHaveLength(1);
  });
});
