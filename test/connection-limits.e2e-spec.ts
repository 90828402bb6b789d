// Guards the connection caps (issues 8 and 12): idle connections up to and
// past the open-file limit must not turn publishes (or creating topics,
// which opens files) into INTERNAL, because connections are capped below it
// by default; a connection over the cap, or over the cap of its client
// address, is told LIMIT_EXCEEDED for its first request or bare command and
// closed, and its slot is free again once an admitted connection closes.
import { LaunchedProcess } from '@p2p-pubsub/launcher';
import { PeerClient } from '@p2p-pubsub/client';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { Socket, connect } from 'net';
import { BareJsonClient } from './support/bare-json';
import { peerClient } from './support/clients';
import { DEADLINE_MS } from './support/deadline';
import { ENTRY, ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

const OPEN_FILES = 400;

/** Opens a connection from `localAddress` and resolves once it is established. */
function open(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one framed request on a new connection and resolves with what came back before it closed. */
async function firstReply(port: number, localAddress?: string): Promise<unknown[]> {
  const raw = new RawConnection(port, '127.0.0.1', localAddress);
  await raw.write(nestFrame({ pattern: PeerPatterns.ListTopics, data: {}, id: 'first' }));
  await waitFor(() => raw.isClosed || parseNestFrames(raw.text).length > 0, {
    what: 'a reply or a close',
  });
  const frames = parseNestFrames(raw.text);
  raw.destroy();
  return frames;
}

describe('connection caps', () => {
  let indexer: ServiceProcess;

  beforeAll(async () => {
    indexer = await indexerProcess().start();
  });

  afterAll(() => indexer?.stop());

  describe(`a peer limited to ${OPEN_FILES} open files, with the default caps`, () => {
    let peer: LaunchedProcess;
    let client: PeerClient;
    const idle: Socket[] = [];

    beforeAll(async () => {
      // prlimit execs the peer in its place: same pid, same ready file.
      peer = new LaunchedProcess({
        name: 'limited-peer',
        command: 'prlimit',
        args: [
          `--nofile=${OPEN_FILES}:${OPEN_FILES}`,
          process.execPath,
          ENTRY.peer,
          '--port',
          '0',
          '--indexer-port',
          String(indexer.port),
        ],
        startTimeoutMs: DEADLINE_MS,
        stopTimeoutMs: DEADLINE_MS,
      });
      await peer.start();
      client = peerClient(peer.port);
      await client.createTopic('Busy');
    });

    afterAll(async () => {
      idle.forEach((socket) => socket.destroy());
      await client?.close();
      await peer?.stop();
    });

    /**
     * Holds more idle connections than the peer may open files (those a test
     * before left open count), and checks that the peer is full: each test
     * that needs a full peer fills it itself, whatever ran before it.
     */
    async function fill(): Promise<void> {
      // Every connect is answered by the kernel; the peer admits 80 (the
      // client's included) and closes the rest, keeping a few to tell them why.
      for (let i = idle.length; i < OPEN_FILES + 50; i++) {
        idle.push(await open(peer.port, `127.0.0.${2 + (i % 200)}`));
      }
      // Accepted in order: once this one is answered or closed, all are handled.
      const probe = await firstReply(peer.port, '127.0.0.250');
      expect(probe).toEqual(
        probe.length === 0
          ? []
          : [expect.objectContaining({ err: expect.objectContaining({ code: 'LIMIT_EXCEEDED' }) })],
      );
    }

    it('derives its connection cap from the open-file limit', async () => {
      // What the files leave: 400, less MAX_OPEN_FILES (256), less 64.
      await expect(
        peer.waitForOutput(/up to 80 connections, 80 per client address/, 0, DEADLINE_MS),
      ).resolves.toBeDefined();
    });

    it('keeps publishing and creating topics with more idle connections than it may open files', async () => {
      await fill();
      await expect(client.publish('Busy', 'still here')).resolves.toMatchObject({
        status: 'success',
      });
      for (let i = 0; i < 20; i++) {
        await client.createTopic(`Files-${i}`);
        await client.publish(`Files-${i}`, `message ${i}`);
      }
      expect((await client.listTopics()).hosted).toHaveLength(21);
      expect(peer.output.join('\n')).toMatch(/refused a connection from 127\.0\.0\.\d+/);
    });

    it('admits connections again once idle ones close', async () => {
      // Full first: run before the test above (random order), this would
      // otherwise pass on a peer that was never full.
      await fill();
      idle.splice(0).forEach((socket) => socket.destroy());
      const fresh = peerClient(peer.port);
      await waitFor(
        () =>
          fresh.publish('Busy', 'from a new connection').then(
            () => true,
            () => {
              // Refused while the peer has not yet seen every close: a new connection next time.
              return false;
            },
          ),
        { what: 'a new connection to be admitted' },
      );
      await expect(fresh.publish('Busy', 'admitted')).resolves.toMatchObject({
        status: 'success',
      });
      await fresh.close();
    });
  });

  describe('a peer with 3 connections per client address', () => {
    let peer: ServiceProcess;
    const held: Array<Socket | RawConnection> = [];

    beforeAll(async () => {
      peer = await peerProcess('per-address', indexer.port, [
        '--max-connections-per-address',
        '3',
      ]).start();
      for (let i = 0; i < 3; i++) held.push(await open(peer.port));
    });

    afterAll(async () => {
      held.forEach((socket) => socket.destroy());
      await peer?.stop();
    });

    it('answers a fourth connection from the address LIMIT_EXCEEDED, with its request id, and closes it', async () => {
      const raw = new RawConnection(peer.port);
      await raw.write(nestFrame({ pattern: PeerPatterns.ListTopics, data: {}, id: 41 }));
      await waitFor(() => raw.isClosed, { what: 'the refused connection to close' });
      expect(parseNestFrames(raw.text)).toEqual([
        expect.objectContaining({
          id: 41,
          err: expect.objectContaining({
            status: 'error',
            code: 'LIMIT_EXCEEDED',
            details: { limit: 'MAX_CONNECTIONS_PER_ADDRESS' },
          }),
        }),
      ]);
      expect(peer.output.join('\n')).toMatch(
        /refused a connection from 127\.0\.0\.1: 3 connections from 127\.0\.0\.1 are open/,
      );
    });

    it('answers a bare JSON client over the cap with one error line', async () => {
      const bare = await BareJsonClient.connect(peer.port);
      await expect(bare.request({ command: 'list_topics' })).resolves.toMatchObject({
        status: 'error',
        code: 'LIMIT_EXCEEDED',
      });
      await bare.serverClosed();
    });

    it('admits another address, and the same address once one of its connections closes', async () => {
      const other = await firstReply(peer.port, '127.0.0.2');
      expect(other).toEqual([
        expect.objectContaining({ id: 'first', response: expect.anything() }),
      ]);
      held.shift()!.destroy();
      // Admitted once the peer has seen the close; kept, so the address is at its cap again.
      const again = await waitFor(
        async () => {
          const raw = new RawConnection(peer.port);
          await raw.write(nestFrame({ pattern: PeerPatterns.ListTopics, data: {}, id: 'again' }));
          await waitFor(() => raw.isClosed || parseNestFrames(raw.text).length > 0);
          const [reply] = parseNestFrames(raw.text);
          if (reply?.response !== undefined) return raw;
          raw.destroy();
          return undefined;
        },
        { what: 'the address to be admitted again' },
      );
      held.push(again);
      expect(again.isClosed).toBe(false);
    });
  });
});
