// Guards the core durability promise: a host killed with -9 while a client
// publishes loses no acknowledged message, reuses no offset when it comes
// back with its data directory, resumes delivery to its subscribers where
// they left off, and peers publishing through it retry instead of failing.
import { IndexerClient, PeerClient, PulledMessage } from '@p2p-pubsub/client';
import { indexerClient as connectIndexer, peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { DEADLINE_MS } from './support/deadline';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { pullUntil, readLog } from './support/pull';
import { waitFor } from './support/wait';

describe.each(['interval', 'always'])(
  'a host (FSYNC=%s) killed with -9 and restarted with its data directory',
  (fsync) => {
    const dataDirs = new DataDirs();
    let indexer: ServiceProcess;
    let host: ServiceProcess;
    let subscribers: ServiceProcess[];
    let hostClient: PeerClient;
    let subscriberClients: PeerClient[];
    let indexerClient: IndexerClient;

    beforeAll(async () => {
      indexer = await indexerProcess().start();
      host = await peerProcess('host', indexer.port, [
        '--data-dir',
        dataDirs.make('host'),
        '--fsync',
        fsync,
      ]).start();
      // The deadline as the subscribers' request timeout: it bounds how long
      // they keep retrying a publish through the host while it restarts.
      subscribers = await Promise.all(
        ['sub1', 'sub2'].map((name) =>
          peerProcess(name, indexer.port, [
            '--data-dir',
            dataDirs.make(name),
            '--fsync',
            fsync,
            '--request-timeout-ms',
            String(DEADLINE_MS),
          ]).start(),
        ),
      );
      hostClient = peerClient(host.port);
      subscriberClients = subscribers.map((peer) => peerClient(peer.port));
      indexerClient = connectIndexer(indexer.port);
    });

    afterAll(async () => {
      await Promise.all(
        [hostClient, indexerClient, ...subscriberClients].map((client) => client?.close()),
      );
      await Promise.all([host, ...(subscribers ?? [])].map((peer) => peer?.stop()));
      await indexer?.stop();
      dataDirs.removeAll();
    });

    it('keeps every acknowledged publish in order, without gaps or duplicates, and both subscribers end with exactly that log', async () => {
      await hostClient.createTopic('Orders');
      for (const client of subscriberClients) await client.subscribe('Orders');

      // Publish one at a time until the kill breaks the loop: every message
      // acknowledged before that must survive; the one in flight may or may not.
      const acknowledged: string[] = [];
      const publishing = (async () => {
        for (let i = 0; ; i++) {
          try {
            await hostClient.publish('Orders', `before-${i}`);
            acknowledged.push(`before-${i}`);
          } catch {
            return;
          }
        }
      })();
      await waitFor(() => acknowledged.length >= 300, { what: '300 acknowledged publishes' });
      const port = host.port;
      expect(await host.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
      await publishing;

      // A peer publishing through the host while it is down retries the refused
      // connection and succeeds once the host is back.
      const throughSubscriber = subscriberClients[0].publish('Orders', 'during-restart');
      await host.start(['--port', String(port)]);
      const recovered = (await hostClient.listTopics()).hosted.find((t) => t.topic === 'Orders');
      expect(recovered?.nextOffset).toBeGreaterThanOrEqual(acknowledged.length);
      const duringRestart = await throughSubscriber;

      const after: string[] = [];
      for (let i = 0; i < 50; i++) {
        await hostClient.publish('Orders', `after-${i}`);
        after.push(`after-${i}`);
      }

      const log = await readLog(hostClient, 'Orders');
      const messages = log.map((entry) => entry.message);
      expect(log.map((entry) => entry.offset)).toEqual(log.map((_, i) => i));
      expect(new Set(messages).size).toBe(messages.length);
      // The acknowledged ones first, in order; then at most the one that was in flight.
      const before = messages.filter((message) => message.startsWith('before-'));
      expect(before.slice(0, acknowledged.length)).toEqual(acknowledged);
      expect(before.length - acknowledged.length).toBeLessThanOrEqual(1);
      expect(messages[duringRestart.offset]).toBe('during-restart');
      expect(messages.slice(-after.length)).toEqual(after);

      for (const client of subscriberClients) {
        const received = await pullUntil(client, 'Orders', log.length);
        expect(received).toEqual(log);
      }
    });

    it('goes on with offsets after the restart when the topic is deleted and created again', async () => {
      await hostClient.createTopic('Reborn');
      for (let i = 0; i < 5; i++) await hostClient.publish('Reborn', `first life ${i}`);
      await hostClient.deleteTopic('Reborn');
      await host.restart('SIGKILL');
      await hostClient.createTopic('Reborn');
      const reply = await hostClient.publish('Reborn', 'reborn');
      expect(reply.offset).toBe(5);
    });

    it('forgets nothing about who subscribed: a subscriber added after the restart and the old ones all receive new messages', async () => {
      await hostClient.createTopic('Restocks');
      await subscriberClients[0].subscribe('Restocks');
      await hostClient.publish('Restocks', 'first');
      await pullUntil(subscriberClients[0], 'Restocks', 1);
      await host.restart('SIGKILL');
      await subscriberClients[1].subscribe('Restocks', 'earliest');
      await hostClient.publish('Restocks', 'second');

      const [first, second] = await Promise.all(
        subscriberClients.map((client) =>
          pullUntil(client, 'Restocks', client === subscriberClients[0] ? 1 : 2),
        ),
      );
      expect(first.map((m: PulledMessage) => m.message)).toEqual(['second']);
      expect(second.map((m: PulledMessage) => m.message)).toEqual(['first', 'second']);
      const listed = await hostClient.listTopics();
      expect(listed.hosted.find((topic) => topic.topic === 'Restocks')?.subscribers.sort()).toEqual(
        subscribers.map((peer) => `127.0.0.1:${peer.port}`).sort(),
      );
      expect((await indexerClient.lookup('Restocks')).port).toBe(host.port);
    });
  },
);
