// Guards topic incarnations: a host that comes back without its data
// directory (killed, wiped, restarted) while the indexer still holds its
// topic creates the topic again as a new incarnation, whose offsets start
// again. A subscriber peer must notice without any delivery, start a new
// replica instead of dropping the new messages as duplicates of old
// offsets, and its consumers must get every new message and a reset signal,
// never a different message at an offset they already read in one
// incarnation.
import { rmSync } from 'fs';
import { PeerClient, PullResult } from '@p2p-pubsub/client';
import { peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { pullUntil } from './support/pull';
import { waitFor } from './support/wait';

const TOPIC = 'Ledger';

describe('a host restarted without its data directory', () => {
  const dataDirs = new DataDirs();
  let indexer: ServiceProcess;
  let host: ServiceProcess;
  let subscriber: ServiceProcess;
  let hostClient: PeerClient;
  let subscriberClient: PeerClient;

  beforeAll(async () => {
    // A lease longer than the test: the indexer still holds the topic for
    // the host when it comes back.
    indexer = await indexerProcess(['--peer-lease-ms', String(4 * DEADLINE_MS)]).start();
    host = await peerProcess('host', indexer.port, ['--data-dir', dataDirs.make('host')]).start();
    subscriber = await peerProcess('subscriber', indexer.port, [
      '--data-dir',
      dataDirs.make('subscriber'),
      '--subscription-check-ms',
      '200',
    ]).start();
    hostClient = peerClient(host.port);
    subscriberClient = peerClient(subscriber.port);
  });

  afterAll(async () => {
    await Promise.all([hostClient, subscriberClient].map((client) => client?.close()));
    await Promise.all([host, subscriber].map((peer) => peer?.stop()));
    await indexer?.stop();
    dataDirs.removeAll();
  });

  it('gives a consumer that read the old incarnation all 50 new messages and a reset, and never another message at an offset it read', async () => {
    await hostClient.createTopic(TOPIC);
    await subscriberClient.subscribe(TOPIC, 'earliest');
    for (let i = 0; i < 100; i++) await hostClient.publish(TOPIC, `old ${i}`);

    // Every message a consumer was given, by incarnation and offset.
    const given = new Map<string, string>();
    const replies: PullResult[] = [];
    const pull = async (consumer: string, max = 1000) => {
      const reply = await subscriberClient.pull(TOPIC, { consumer, max });
      replies.push(reply);
      for (const { offset, message } of reply.messages) {
        const key = `${reply.incarnation}/${offset}`;
        expect([key, given.get(key) ?? message]).toEqual([key, message]);
        given.set(key, message);
      }
      return reply;
    };
    const pullAll = async (consumer: string, count: number) => {
      const messages: string[] = [];
      await waitFor(
        async () => {
          messages.push(...(await pull(consumer)).messages.map((m) => m.message));
          return messages.length >= count;
        },
        { what: `${count} messages for ${consumer}` },
      );
      return messages;
    };

    const oldMessages = await pullAll('reader', 100);
    expect(oldMessages).toEqual(Array.from({ length: 100 }, (_, i) => `old ${i}`));
    const oldIncarnation = replies[0].incarnation;
    // A second consumer that read only 60 of them.
    await pullUntil(subscriberClient, TOPIC, 60, { consumer: 'laggard', max: 60 });

    const port = host.port;
    await host.stop('SIGKILL');
    rmSync(dataDirs.made('host'), { recursive: true, force: true });
    const mark = host.output.length;
    await host.start(['--port', String(port)]);
    await host.waitForLog(new RegExp(`the indexer holds '${TOPIC}' for this peer`), mark);
    const recreated = await waitFor(
      async () => (await hostClient.listTopics()).hosted.find((topic) => topic.topic === TOPIC),
      { what: `the host to create '${TOPIC}' again` },
    );
    expect(recreated.incarnation).not.toBe(oldIncarnation);

    const published: Array<{ offset: number; message: string }> = [];
    for (let i = 0; i < 50; i++) {
      const { offset } = await hostClient.publish(TOPIC, `new ${i}`);
      published.push({ offset, message: `new ${i}` });
    }
    // Offsets start again with the new incarnation.
    expect(published.map((entry) => entry.offset)).toEqual(published.map((_, i) => i));

    const firstNew = replies.length;
    const newMessages = await pullAll('reader', 50);
    expect(newMessages).toEqual(published.map((entry) => entry.message));
    const resets = replies.slice(firstNew).filter((reply) => reply.reset !== undefined);
    expect(resets.map((reply) => reply.reset)).toEqual([
      { previousIncarnation: oldIncarnation, unread: 0 },
    ]);
    expect(
      new Set(
        replies
          .slice(firstNew)
          .filter((reply) => reply.messages.length > 0)
          .map((reply) => reply.incarnation),
      ),
    ).toEqual(new Set([recreated.incarnation]));

    // The consumer that was behind is told how many of the old ones it never got.
    const laggard = await subscriberClient.pull(TOPIC, { consumer: 'laggard', max: 1000 });
    expect(laggard.reset).toEqual({ previousIncarnation: oldIncarnation, unread: 40 });
    expect(laggard.messages.map((m) => m.message)).toEqual(published.map((entry) => entry.message));
    expect(subscriber.output.join('\n')).toMatch(new RegExp(`'${TOPIC}' is a new incarnation`));
  });
});
