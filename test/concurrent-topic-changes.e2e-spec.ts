// Guards concurrent changes to one topic name on one peer (issue 8): two
// create_topic at once gave one success and one INTERNAL (the log store
// refused to open the name twice), and so did two subscribe. Now one create
// succeeds and the other is TOPIC_EXISTS, both subscribes succeed, and the
// topic works afterwards as if it had been set up once.
import { PeerClient } from '@p2p-pubsub/client';
import { Cluster, startCluster } from './support/cluster';
import { peerClient } from './support/clients';
import { pullUntil } from './support/pull';

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'success',
    (error: { code?: string }) => error.code ?? String(error),
  );

describe('concurrent creates and subscribes of one name on one peer', () => {
  let cluster: Cluster;
  /** Second connections, so the requests really travel side by side. */
  let others: PeerClient[];

  beforeAll(async () => {
    cluster = await startCluster(2);
    others = cluster.peers.map((peer) => peerClient(peer.port));
    // Connected before the races, so that neither request waits for a connection.
    await Promise.all([...cluster.clients, ...others].map((client) => client.listTopics()));
  });

  afterAll(async () => {
    await Promise.all((others ?? []).map((client) => client.close()));
    await cluster?.stop();
  });

  it('creates each name once and answers the other create TOPIC_EXISTS', async () => {
    const names = Array.from({ length: 5 }, (_, i) => `Race-${i}`);
    const outcomes = await Promise.all(
      names.map((name) =>
        Promise.all([
          outcome(cluster.clients[0].createTopic(name)),
          outcome(others[0].createTopic(name)),
        ]),
      ),
    );
    for (const pair of outcomes) expect(pair.sort()).toEqual(['TOPIC_EXISTS', 'success']);
    const hosted = (await cluster.clients[0].listTopics()).hosted.map(({ topic }) => topic);
    expect(hosted.filter((topic) => topic.startsWith('Race-')).sort()).toEqual(names);
  });

  it('answers two concurrent subscribes with success, and delivers each message once', async () => {
    const names = Array.from({ length: 5 }, (_, i) => `Shared-${i}`);
    for (const name of names) await cluster.clients[0].createTopic(name);
    const outcomes = await Promise.all(
      names.map((name) =>
        Promise.all([
          outcome(cluster.clients[1].subscribe(name, 'earliest')),
          outcome(others[1].subscribe(name, 'earliest')),
        ]),
      ),
    );
    for (const pair of outcomes) expect(pair).toEqual(['success', 'success']);

    for (const message of ['one', 'two']) await cluster.clients[0].publish('Shared-0', message);
    const received = await pullUntil(cluster.clients[1], 'Shared-0', 2);
    expect(received.map(({ offset, message }) => [offset, message])).toEqual([
      [0, 'one'],
      [1, 'two'],
    ]);
    const { subscribed } = await cluster.clients[1].listTopics();
    expect(
      subscribed
        .map(({ topic }) => topic)
        .filter((topic) => topic.startsWith('Shared-'))
        .sort(),
    ).toEqual(names);
  });
});
