// Guards write coalescing: frames written in one tick must leave in one
// write, all of them must arrive in order, and nothing may stay corked past
// the tick.
import { AddressInfo, Server, Socket, createConnection, createServer } from 'net';
import { FrameDecoder, encodeFrame } from './frame-decoder';
import { TickCork } from './write-coalescing';

describe('TickCork', () => {
  let server: Server;
  let client: Socket;
  let accepted: Socket;

  beforeEach(async () => {
    const acceptedOnce = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    accepted = await acceptedOnce;
  });

  afterEach(async () => {
    client.destroy();
    accepted.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('holds the frames of one tick back and sends them together, in order', async () => {
    const cork = new TickCork(client);
    const decoder = new FrameDecoder(1024);
    const received: unknown[] = [];
    const allThree = new Promise<void>((resolve) =>
      accepted.on('data', (chunk: Buffer) => {
        received.push(...decoder.push(chunk).frames.map((frame) => JSON.parse(frame)));
        if (received.length === 3) resolve();
      }),
    );

    for (const id of [1, 2, 3]) {
      cork.hold();
      client.write(encodeFrame({ id }));
    }
    expect(client.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(client.writableCorked).toBe(0);
    await allThree;
    expect(received).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('uncorks after each tick, so a frame of a later tick is not held', async () => {
    const cork = new TickCork(client);
    cork.hold();
    await new Promise((resolve) => process.nextTick(resolve));
    cork.hold();
    expect(client.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(client.writableCorked).toBe(0);
  });
});
