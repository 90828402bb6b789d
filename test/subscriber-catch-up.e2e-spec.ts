// Guards delivery across subscriber downtime: a subscriber peer that was
// down catches up from its acknowledged offset with every message once, its
// consumers keep their positions over its restart, and a stopped subscriber
// holds up neither publish nor the other subscribers.
import { PeerClient } from '@p2p-pubsub/client';
import { peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { pullUntil, readLog } from './support/pull';
import { waitFor } from './support/wait';

describe('subscribers that go away and come back', () => {
  const dataDirs = new DataDirs();
  let indexer: ServiceProcess;
  let host: ServiceProcess;
  let sub1: ServiceProcess;
  let sub2: ServiceProcess;
  let hostClient: PeerClient;
  let sub1Client: PeerClient;
  let sub2Client: PeerClient;

  beforeAll(async () => {
    indexer = await indexerProcess().start();
    // A short request timeout on the host: a delivery to a frozen subscriber
    // fails (and backs off) quickly, which is what this suite is about.
    host = await peerProcess('host', indexer.port, [
      '--data-dir',
      dataDirs.make('host'),
      '--request-timeout-ms',
      '500',
    ]).start();
    [sub1, sub2] = await Promise.all(
      ['sub1', 'sub2'].map((name) =>
        peerProcess(name, indexer.port, ['--data-dir', dataDirs.make(name)]).start(),
      ),
    );
    hostClient = peerClient(host.port);
    sub1Client = peerClient(sub1.port);
    sub2Client = peerClient(sub2.port);
  });

  afterAll(async () => {
    await Promise.all([hostClient, sub1Client, sub2Client].map((client) => client?.close()));
    await Promise.all([host, sub1, sub2].map((peer) => peer?.stop()));
    await indexer?.stop();
    dataDirs.removeAll();
  });

  it('gives a consumer on a restarted subscriber all 1,000 messages published while it was down, once each, in order', async () => {
    await hostClient.createTopic('Scores');
    await sub1Client.subscribe('Scores');
    await hostClient.publish('Scores', 'before the stop');
    const seen = await pullUntil(sub1Client, 'Scores', 1);
    expect(seen.map((m) => m.message)).toEqual(['before the stop']);

    const port = sub1.port;
    await sub1.stop();
    const published: string[] = [];
    for (let i = 0; i < 1000; i++) {
      await hostClient.publish('Scores', `score ${i}`);
      published.push(`score ${i}`);
    }
    await sub1.start(['--port', String(port)]);

    const caughtUp = await pullUntil(sub1Client, 'Scores', 1000);
    expect(caughtUp.map((m) => m.message)).toEqual(published);
    expect(caughtUp.map((m) => m.offset)).toEqual(published.map((_, i) => i + 1));
    const again = await sub1Client.pull('Scores');
    expect(again.messages).toEqual([]);
    expect(again.nextOffset).toBe(1001);
  });

  it('keeps consumer positions over a kill -9 of the subscriber peer', async () => {
    await hostClient.createTopic('Ledger');
    await sub1Client.subscribe('Ledger');
    for (let i = 0; i < 10; i++) await hostClient.publish('Ledger', `entry ${i}`);
    // All ten are in the replica before the consumer reads, so that one pull
    // of five takes exactly the first five, however slowly delivery went.
    await waitFor(async () => (await readLog(sub1Client, 'Ledger')).length === 10, {
      what: "10 messages of 'Ledger' in the replica",
    });
    const firstHalf = (await sub1Client.pull('Ledger', { max: 5 })).messages;
    expect(firstHalf.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
    // A second consumer that has read everything.
    await pullUntil(sub1Client, 'Ledger', 10, { consumer: 'audit' });
    // A position is journaled right after its reply was handed to the
    // connection (at least once: a kill in between hands it out again). Any
    // later reply comes after that write.
    await sub1Client.listTopics();

    await sub1.restart('SIGKILL');

    const rest = await pullUntil(sub1Client, 'Ledger', 5);
    expect(rest.map((m) => m.offset)).toEqual([5, 6, 7, 8, 9]);
    expect((await sub1Client.pull('Ledger', { consumer: 'audit' })).messages).toEqual([]);
  });

  it('lets publish and the other subscriber go on while one subscriber is frozen, and the frozen one catches up after', async () => {
    await hostClient.createTopic('Ticker');
    await sub1Client.subscribe('Ticker');
    await sub2Client.subscribe('Ticker');

    sub1.signal('SIGSTOP');
    try {
      const published: string[] = [];
      for (let i = 0; i < 200; i++) {
        await hostClient.publish('Ticker', `tick ${i}`);
        published.push(`tick ${i}`);
      }
      const atSub2 = await pullUntil(sub2Client, 'Ticker', 200);
      expect(atSub2.map((m) => m.message)).toEqual(published);
    } finally {
      sub1.signal('SIGCONT');
    }
    const atSub1 = await pullUntil(sub1Client, 'Ticker', 200);
    expect(atSub1.map((m) => m.message)).toEqual(
      Array.from({ length: 200 }, (_, i) => `tick ${i}`),
    );
  });
});
