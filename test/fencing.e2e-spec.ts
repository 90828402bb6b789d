// Guards "one host per topic, always": a host frozen (SIGSTOP) for twice its
// lease while clients publish through it and through another peer, whose
// topic a third peer creates meanwhile, must come back without hosting it:
// it serves no publish in between, keeps its old log aside, and every
// acknowledged publish is where it was acknowledged (the new host's log at
// its offset, or the old incarnation kept aside for those the old host
// acknowledged before it stopped). No publish answered with a definite error
// is stored anywhere, and a subscriber peer's replica follows the new host.
import { PeerClient, PubSubError, PulledMessage } from '@p2p-pubsub/client';
import { Cluster, startCluster } from './support/cluster';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { readLogFiles, topicDirectories } from './support/log-files';
import { readLog } from './support/pull';
import { waitFor } from './support/wait';

const TOPIC = 'Contested';
/** Short, so that the scenario takes seconds, yet far longer than a busy machine's pauses. */
const LEASE_MS = Math.max(3_000, DEADLINE_MS / 10);
/** How long a publisher, or a peer forwarding to the frozen host, waits for a reply. */
const REPLY_MS = LEASE_MS / 3;

interface Outcome {
  message: string;
  /** performance.now() when the reply (or error) came back. */
  answeredAt: number;
  offset?: number;
  code?: string;
}

/** Publishes one message at a time until `stop` says so, recording every outcome. */
async function publishUntil(
  client: PeerClient,
  name: string,
  stop: () => boolean,
  outcomes: Outcome[],
): Promise<void> {
  for (let i = 0; !stop(); i++) {
    const message = `${name}-${i}`;
    try {
      const { offset } = await client.publish(TOPIC, message);
      outcomes.push({ message, answeredAt: performance.now(), offset });
    } catch (error) {
      outcomes.push({ message, answeredAt: performance.now(), code: (error as PubSubError).code });
      // Pacing, not waiting for anything: refusals come back at once.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('a host frozen for twice its lease while a third peer claims its topic', () => {
  const dataDirs = new DataDirs();
  let cluster: Cluster;
  const clients: PeerClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster(4, {
      indexerArgs: ['--peer-lease-ms', String(LEASE_MS)],
      peerArgs: [
        '--heartbeat-interval-ms',
        '100',
        // A forwarded publish to the frozen host gives up (outcome unknown) after this.
        '--request-timeout-ms',
        String(REPLY_MS),
        '--subscription-check-ms',
        '200',
      ],
      dataDirs,
    });
  });

  afterAll(async () => {
    cluster?.peers[0].signal('SIGCONT');
    await Promise.all(clients.map((client) => client.close()));
    await cluster?.stop();
    dataDirs.removeAll();
  });

  it('ends with exactly one host, every acknowledged publish where it was acknowledged, and no refused one stored', async () => {
    const [oldHost, forwarder, , subscriber] = cluster.peers;
    const [oldHostClient, , claimerClient, subscriberClient] = cluster.clients;
    const peerId = (index: number) => `127.0.0.1:${cluster.peers[index].port}`;

    await oldHostClient.createTopic(TOPIC);
    await subscriberClient.subscribe(TOPIC, 'earliest');

    // Two publishers through the host itself, two through a peer that forwards to it.
    const outcomes: Outcome[] = [];
    let stopping = false;
    const publishers = [oldHost, oldHost, forwarder, forwarder].map((peer, i) => {
      const client = new PeerClient({
        host: '127.0.0.1',
        port: peer.port,
        requestTimeoutMs: REPLY_MS,
      });
      clients.push(client);
      return publishUntil(client, `${peer.name}-${i}`, () => stopping, outcomes);
    });
    const successes = () => outcomes.filter((outcome) => outcome.offset !== undefined);
    await waitFor(() => successes().length >= 40, { what: '40 publishes acknowledged' });

    const stoppedAt = performance.now();
    const oldHostMark = oldHost.output.length;
    oldHost.signal('SIGSTOP');
    let claimStartedAt: number;
    try {
      await waitFor(
        () =>
          cluster.indexerClient.lookup(TOPIC).then(
            () => false,
            (error: PubSubError) => error.code === 'TOPIC_NOT_FOUND',
          ),
        { what: 'the indexer to evict the frozen host' },
      );
      claimStartedAt = performance.now();
      await claimerClient.createTopic(TOPIC);
      // The scenario: frozen for twice the lease in all.
      await waitFor(() => performance.now() - stoppedAt >= 2 * LEASE_MS, {
        what: 'twice the lease to pass',
      });
    } finally {
      oldHost.signal('SIGCONT');
    }
    const resumedAt = performance.now();

    await oldHost.waitForLog(new RegExp(`stopped hosting '${TOPIC}'`), oldHostMark);
    // Publishing goes on through both peers, now to the new host.
    await waitFor(
      () =>
        ['oldHost', 'forwarder'].every(
          (name) =>
            successes().filter(
              (outcome) =>
                outcome.answeredAt > resumedAt &&
                outcome.message.startsWith(name === 'oldHost' ? oldHost.name : forwarder.name),
            ).length >= 20,
        ),
      { what: '20 more publishes acknowledged through each peer' },
    );
    stopping = true;
    await Promise.all(publishers);

    // Exactly one peer hosts the name, and the indexer agrees.
    const hostedBy = await Promise.all(
      cluster.clients.map(async (client) =>
        (await client.listTopics()).hosted.some((hosted) => hosted.topic === TOPIC),
      ),
    );
    expect(hostedBy).toEqual([false, false, true, false]);
    const lookup = await cluster.indexerClient.lookup(TOPIC);
    expect(lookup.peerId).toBe(peerId(2));
    expect(
      (await cluster.indexerClient.listTopics()).topics.filter((held) => held.topic === TOPIC),
    ).toEqual([expect.objectContaining({ peerId: peerId(2), epoch: lookup.epoch })]);

    // The old host kept its log aside, and has no other log of the name.
    const oldHostDir = dataDirs.made('peer1');
    expect(topicDirectories(oldHostDir, 'topics', TOPIC)).toEqual([]);
    const retiredDirs = topicDirectories(oldHostDir, 'retired', TOPIC);
    expect(retiredDirs).toHaveLength(1);
    expect(retiredDirs[0].epoch).toBeLessThan(lookup.epoch);
    const retired = await readLogFiles(retiredDirs[0].path);
    const live = await readLog(claimerClient, TOPIC);

    // Acknowledged before the new claim: by the old host, kept aside at its
    // offset. After it: by the new host, in its log at its offset.
    const before = successes().filter((outcome) => outcome.answeredAt < claimStartedAt!);
    const after = successes().filter((outcome) => outcome.answeredAt >= claimStartedAt!);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(after.length).toBeGreaterThanOrEqual(40);
    const at = (log: Array<{ offset: number; message: string }>, offset: number) =>
      log.find((record) => record.offset === offset)?.message;
    for (const outcome of before)
      expect([outcome.message, at(retired, outcome.offset!)]).toEqual([
        outcome.message,
        outcome.message,
      ]);
    for (const outcome of after)
      expect([outcome.message, at(live, outcome.offset!)]).toEqual([
        outcome.message,
        outcome.message,
      ]);
    const liveMessages = live.map((record) => record.message);
    expect(new Set(liveMessages).size).toBe(liveMessages.length);

    // A subscriber peer's replica follows the new host, and holds exactly its log.
    await waitFor(
      async () => {
        const subscribed = (await subscriberClient.listTopics()).subscribed.find(
          (entry) => entry.topic === TOPIC,
        );
        return subscribed?.hostPeer === peerId(2) && subscribed.incarnation === lookup.incarnation;
      },
      { what: 'the subscriber to follow the new host' },
    );
    let replica: PulledMessage[] = [];
    await waitFor(
      async () => {
        replica = await readLog(subscriberClient, TOPIC);
        return replica.length === live.length;
      },
      { what: "the subscriber's replica to catch up" },
    );
    expect(replica).toEqual(live);

    // A publish refused with a definite error is nowhere.
    const refused = outcomes.filter(
      (outcome) => outcome.code !== undefined && outcome.code !== 'PEER_UNAVAILABLE',
    );
    const stored = new Set([...retired, ...live, ...replica].map((record) => record.message));
    expect(refused.filter((outcome) => stored.has(outcome.message))).toEqual([]);
    // What refusals there were, were the definite kinds fencing gives.
    expect(
      [...new Set(refused.map((outcome) => outcome.code))].filter(
        (code) => !['NOT_OWNER', 'STALE_EPOCH', 'TOPIC_NOT_FOUND'].includes(code!),
      ),
    ).toEqual([]);
    expect(subscriber.output.join('\n')).toMatch(new RegExp(`'${TOPIC}' is a new incarnation`));
  });
});
