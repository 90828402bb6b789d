// Guards the server socket's bounds and reply tracking on real loopback
// sockets, without Nest: connections over the process or per-address cap are
// told LIMIT_EXCEEDED (with their request's id) and closed, and free their
// slot for nobody; a request past the in-flight or queued-reply-bytes bound
// is refused with its id before it is dispatched; a tracked reply settles as
// handed over only when the OS took it on an open connection, and as lost
// when the connection closed first.
import { Logger } from '@nestjs/common';
import { AddressInfo, Server, Socket, connect, createServer } from 'net';
import { PeerBareCommands } from '@p2p-pubsub/protocol';
import { FrameDecoder, ReplyPacket, encodeFrame, wireLimitsFor } from '@p2p-pubsub/wire';
import { ConnectionLimits, ConnectionRegistry } from './connection-limits';
import { ServerSocket, createServerSocketClass } from './server-socket';

interface Request {
  pattern: string;
  data: unknown;
  id?: number;
}

const LIMITS: ConnectionLimits = {
  maxConnections: 3,
  maxConnectionsPerAddress: 2,
  maxInFlightPerConnection: 2,
  maxQueuedReplyBytes: 64 * 1024,
};

/** The server end: a ServerSocket per connection, and the requests it dispatched. */
class Harness {
  readonly sockets: ServerSocket[] = [];
  readonly dispatched: Array<{ socket: ServerSocket; request: Request }> = [];
  readonly registry: ConnectionRegistry;
  private server?: Server;
  private readonly raw = new Set<Socket>();

  constructor(limits: ConnectionLimits) {
    this.registry = new ConnectionRegistry(limits);
  }

  async listen(): Promise<number> {
    const SocketClass = createServerSocketClass(wireLimitsFor(), PeerBareCommands, this.registry);
    this.server = createServer((raw) => {
      this.raw.add(raw);
      raw.on('close', () => this.raw.delete(raw));
      const socket = new SocketClass(raw);
      this.sockets.push(socket);
      socket.on('message', (request: Request) => this.dispatched.push({ socket, request }));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server!.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.raw.forEach((socket) => socket.destroy());
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** The client end: decoded reply frames (or bare lines), and whether the server closed. */
class Client {
  readonly frames: ReplyPacket[] = [];
  text = '';
  closed = false;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  readonly socket: Socket;
  readonly connected: Promise<void>;

  constructor(port: number, localAddress = '127.0.0.1') {
    this.socket = connect({ port, host: '127.0.0.1', localAddress });
    this.connected = new Promise((resolve) => this.socket.once('connect', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString();
      for (const frame of this.decoder.push(chunk).frames) this.frames.push(JSON.parse(frame));
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => (this.closed = true));
  }

  send(request: Request): void {
    this.socket.write(encodeFrame(request));
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('ServerSocket', () => {
  beforeAll(() => Logger.overrideLogger(false));

  let harness: Harness;
  let port: number;
  const clients: Client[] = [];
  const client = async (localAddress?: string) => {
    const opened = new Client(port, localAddress);
    clients.push(opened);
    await opened.connected;
    return opened;
  };

  beforeEach(async () => {
    harness = new Harness(LIMITS);
    port = await harness.listen();
  });

  afterEach(async () => {
    clients.splice(0).forEach((opened) => opened.socket.destroy());
    await harness.close();
  });

  it('answers a connection over the per-address cap with LIMIT_EXCEEDED for its first request, then closes it', async () => {
    await client();
    await client();
    const third = await client();
    third.send({ pattern: 'publish', data: {}, id: 7 });
    await until(() => third.closed, 'the refused connection to close');
    expect(third.frames).toEqual([
      {
        id: 7,
        isDisposed: true,
        err: expect.objectContaining({
          status: 'error',
          code: 'LIMIT_EXCEEDED',
          details: { limit: 'MAX_CONNECTIONS_PER_ADDRESS' },
        }),
      },
    ]);
    expect(harness.dispatched).toEqual([]);
    expect(harness.registry.openConnections).toBe(2);
  });

  it('refuses a connection over the process cap, whatever its address', async () => {
    await client('127.0.0.1');
    await client('127.0.0.2');
    await client('127.0.0.3');
    const fourth = await client('127.0.0.4');
    fourth.send({ pattern: 'publish', data: {}, id: 'x' as never });
    await until(() => fourth.closed, 'the refused connection to close');
    expect(fourth.frames[0]).toMatchObject({
      id: 'x',
      err: { code: 'LIMIT_EXCEEDED', details: { limit: 'MAX_CONNECTIONS' } },
    });
  });

  it('closes refused connections at once, without a word, while 16 others wait to be told', async () => {
    await client('127.0.0.1');
    await client('127.0.0.2');
    await client('127.0.0.3');
    const waiting: Client[] = [];
    for (let i = 0; i < 16; i++) waiting.push(await client('127.0.0.4'));
    const dropped = await client('127.0.0.4');
    await until(() => dropped.closed, 'the connection past the waiting bound to close');
    expect(dropped.text).toBe('');
    expect(waiting.some((opened) => opened.closed)).toBe(false);
    // One that was waiting is still told why.
    waiting[0].send({ pattern: 'publish', data: {}, id: 1 });
    await until(() => waiting[0].closed, 'the waiting connection to be answered');
    expect(waiting[0].frames[0]).toMatchObject({ id: 1, err: { code: 'LIMIT_EXCEEDED' } });
  });

  it('refuses a bare JSON client over the cap with one error line', async () => {
    await client();
    await client();
    const bare = await client();
    bare.socket.write('{"command": "list_topics"}');
    await until(() => bare.closed, 'the refused connection to close');
    expect(JSON.parse(bare.text)).toMatchObject({ status: 'error', code: 'LIMIT_EXCEEDED' });
  });

  it('admits a new connection once an admitted one has closed', async () => {
    const first = await client();
    await client();
    first.socket.destroy();
    await until(() => harness.registry.openConnections === 1, 'the slot to free');
    const next = await client();
    next.send({ pattern: 'publish', data: {}, id: 1 });
    await until(() => harness.dispatched.length === 1, 'the request to be dispatched');
    expect(harness.registry.openConnections).toBe(2);
  });

  it('refuses requests past the in-flight cap with their own ids, before dispatching them', async () => {
    const busy = await client();
    for (const id of [1, 2, 3, 4]) busy.send({ pattern: 'publish', data: {}, id });
    await until(() => busy.frames.length === 2, 'two refusals');
    expect(harness.dispatched.map(({ request }) => request.id)).toEqual([1, 2]);
    expect(busy.frames.map((frame) => [frame.id, (frame.err as { code: string }).code])).toEqual([
      [3, 'LIMIT_EXCEEDED'],
      [4, 'LIMIT_EXCEEDED'],
    ]);
    // A final reply frees a slot.
    const [{ socket }] = harness.dispatched;
    socket.sendMessage({ id: 1, response: 'ok', isDisposed: true });
    busy.send({ pattern: 'publish', data: {}, id: 5 });
    await until(() => harness.dispatched.length === 3, 'the next request to be dispatched');
  });

  it('refuses requests while the replies its client has not read reach the queued-bytes bound', async () => {
    const reader = await client();
    reader.socket.pause();
    reader.send({ pattern: 'pull', data: {}, id: 1 });
    await until(() => harness.dispatched.length === 1, 'the first request');
    const { socket } = harness.dispatched[0];
    // Announced, not yet written: it already counts against the bound.
    socket.trackReply({}, LIMITS.maxQueuedReplyBytes, () => undefined);
    expect(() => socket.assertReplyRoom()).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
    reader.send({ pattern: 'pull', data: {}, id: 2 });
    reader.socket.resume();
    await until(() => reader.frames.length === 1, 'the refusal');
    expect(reader.frames[0]).toMatchObject({ id: 2, err: { code: 'LIMIT_EXCEEDED' } });
    expect(harness.dispatched).toHaveLength(1);
  });

  it('settles a tracked reply as handed over once written to the open connection', async () => {
    const reader = await client();
    reader.send({ pattern: 'pull', data: {}, id: 1 });
    await until(() => harness.dispatched.length === 1, 'the request');
    const { socket } = harness.dispatched[0];
    const reply = { messages: ['a'] };
    const outcomes: boolean[] = [];
    socket.trackReply(reply, 100, (handedOver) => outcomes.push(handedOver));
    socket.sendMessage({ id: 1, response: reply, isDisposed: true });
    await until(() => outcomes.length === 1, 'the reply to settle');
    expect(outcomes).toEqual([true]);
    expect(() => socket.assertReplyRoom()).not.toThrow();
  });

  it('settles a reply written but still queued as lost when its client goes without reading it', async () => {
    const reader = await client();
    reader.socket.pause();
    reader.send({ pattern: 'pull', data: {}, id: 1 });
    await until(() => harness.dispatched.length === 1, 'the request');
    const { socket } = harness.dispatched[0];
    // Far more than the socket buffers on both ends take: most of it stays queued here.
    const reply = { message: 'x'.repeat(32 * 1024 * 1024) };
    const outcomes: boolean[] = [];
    socket.trackReply(reply, reply.message.length, (handedOver) => outcomes.push(handedOver));
    socket.sendMessage({ id: 1, response: reply, isDisposed: true });
    reader.socket.destroy();
    await until(() => outcomes.length === 1, 'the reply to settle');
    expect(outcomes).toEqual([false]);
  });

  it('settles a tracked reply as lost, and tells close listeners, when the client leaves first', async () => {
    const leaving = await client();
    leaving.send({ pattern: 'pull', data: {}, id: 1 });
    await until(() => harness.dispatched.length === 1, 'the request');
    const { socket } = harness.dispatched[0];
    const outcomes: boolean[] = [];
    let told = 0;
    socket.onClose(() => told++);
    socket.trackReply({}, 100, (handedOver) => outcomes.push(handedOver));
    leaving.socket.destroy();
    await until(() => outcomes.length === 1, 'the reply to settle');
    expect({ outcomes, told, open: socket.open }).toEqual({
      outcomes: [false],
      told: 1,
      open: false,
    });
    // Announced after the close: lost at once.
    socket.trackReply({}, 100, (handedOver) => outcomes.push(handedOver));
    expect(outcomes).toEqual([false, false]);
  });
});
