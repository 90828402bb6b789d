// Guards the bare-JSON connection logic on a real loopback socket, without
// Nest: one command dispatched at a time so replies keep their order, one
// reply per command, commands sent before a half-close still answered, an
// oversized command answered then closed even behind a backlog, and a
// command that stops arriving dropped with its connection.
import { AddressInfo, Server, Socket, connect, createServer } from 'net';
import { PeerBareCommands } from '@p2p-pubsub/protocol';
import { ReplyPacket } from '@p2p-pubsub/wire';
import { BareJsonSession } from './bare-json-session';
import { WireLimits } from '@p2p-pubsub/wire';

interface Dispatched extends ReplyPacket {
  pattern: string;
  data: Record<string, unknown>;
}

/** The server end: a session per connection, and what it dispatched. */
class Harness {
  readonly dispatched: Dispatched[] = [];
  readonly failures: Array<{ message: string; destroy: boolean }> = [];
  session?: BareJsonSession;
  /** Server-side sockets fully closed so far. */
  closedSockets = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  /** How the fake handlers answer; by default an echo of the request. */
  answer: (request: Dispatched, session: BareJsonSession) => void = (request, session) =>
    setImmediate(() =>
      session.reply({ id: request.id, response: { echo: request.data }, isDisposed: true }),
    );

  constructor(private readonly limits: WireLimits) {}

  async listen(): Promise<number> {
    this.server = createServer((socket) => {
      socket.allowHalfOpen = true;
      this.sockets.add(socket);
      const session = new BareJsonSession(
        socket,
        this.limits,
        PeerBareCommands,
        (error, options) => {
          this.failures.push({ message: error.message, destroy: options.destroy });
          if (options.destroy) socket.destroy();
          else socket.end();
        },
      );
      this.session = session;
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      socket.on('end', () => session.endOfInput());
      socket.on('close', () => this.closedSockets++);
      socket.on('message', (request: Dispatched) => {
        this.dispatched.push(request);
        this.answer(request, session);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server!.address() as AddressInfo).port;
  }

  /** Also tears down connections a failed test left open. */
  close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** The client end: everything received, and when the server closed. */
function client(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const state = { text: '', closed: false };
  socket.on('data', (text: string) => (state.text += text));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      state.closed = true;
      resolve();
    }),
  );
  const lines = () =>
    state.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
  return { socket, state, closed, lines };
}

/** Waits for `condition`, polling; fails after a deadline. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const limits: WireLimits = {
  maxFrameChars: 200,
  incompleteMessageTimeoutMs: 10_000,
  maxSendBufferBytes: 1024 * 1024,
};
const publish = (message: string) => JSON.stringify({ command: 'publish', topic: 'T', message });

describe('BareJsonSession', () => {
  let harness: Harness;
  afterEach(() => harness.close());

  it('dispatches the next command only once the previous one is answered', async () => {
    harness = new Harness(limits);
    const held: Dispatched[] = [];
    harness.answer = (request) => held.push(request);
    const { socket, lines } = client(await harness.listen());
    socket.write(`${publish('a')}${publish('b')}`);

    await until(() => held.length === 1, 'the first command');
    // Nothing else goes out while the first is unanswered.
    await new Promise((resolve) => setImmediate(resolve));
    expect(harness.dispatched.map((r) => r.data.message)).toEqual(['a']);

    harness.session!.reply({ id: held[0].id, response: { n: 1 }, isDisposed: true });
    await until(() => held.length === 2, 'the second command');
    harness.session!.reply({ id: held[1].id, response: { n: 2 }, isDisposed: true });
    await until(() => lines().length === 2, 'two replies');
    expect(lines()).toEqual([{ n: 1 }, { n: 2 }]);
    expect(held.map((r) => r.pattern)).toEqual(['publish', 'publish']);
    socket.destroy();
  });

  it('writes one reply per command, dropping further values of a stream', async () => {
    harness = new Harness(limits);
    harness.answer = (request, session) =>
      setImmediate(() => {
        session.reply({ id: request.id, response: 'first' });
        session.reply({ id: request.id, response: 'second' });
        session.reply({ id: request.id, isDisposed: true });
      });
    const { socket, lines } = client(await harness.listen());
    socket.write(`${publish('a')}\n${publish('b')}\n`);
    await until(() => lines().length === 2, 'two replies');
    expect(lines()).toEqual(['first', 'first']);
    socket.destroy();
  });

  it('answers every command sent before a half-close, then ends the connection', async () => {
    harness = new Harness(limits);
    const { socket, closed, lines } = client(await harness.listen());
    socket.end(`${publish('a')}\n[1]\n${publish('b')}`);
    await closed;
    expect(lines()).toEqual([
      { echo: { topic: 'T', message: 'a' } },
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      { echo: { topic: 'T', message: 'b' } },
    ]);
  });

  it('answers an oversized command after the backlog ahead of it, then closes', async () => {
    harness = new Harness(limits);
    const { socket, state, lines } = client(await harness.listen());
    // Many small commands queue up and pause reading; the oversized one comes
    // last and is far larger than what a paused socket buffers, so the server
    // must read on (and discard) for either end to finish closing.
    const backlog = Array.from({ length: 50 }, (_, i) => publish(`m${i}`)).join('');
    socket.write(`${backlog}${publish('x'.repeat(4 * 1024 * 1024))}`);
    await until(() => state.closed && harness.closedSockets === 1, 'both ends to close');
    const replies = lines();
    expect(replies).toHaveLength(51);
    expect(replies[49]).toEqual({ echo: { topic: 'T', message: 'm49' } });
    expect(replies[50]).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: 200 } });
    expect(harness.failures).toEqual([
      { message: expect.stringContaining('200 bytes'), destroy: false },
    ]);
  });

  it('drops a command that stops arriving part-way, with its connection', async () => {
    harness = new Harness({ ...limits, incompleteMessageTimeoutMs: 50 });
    const { socket, closed, state } = client(await harness.listen());
    socket.write('{"command": "publish", "topic": "T", "mess');
    await closed;
    expect(state.text).toBe('');
    expect(harness.failures).toEqual([
      { message: expect.stringContaining('incomplete command'), destroy: true },
    ]);
    expect(harness.dispatched).toEqual([]);
  });
});
