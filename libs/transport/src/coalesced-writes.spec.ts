// Guards write coalescing: frames sent together must leave in one write
// and all of them must arrive, in order, and a later frame must not wait
// for anything.
import { JsonSocket } from '@nestjs/microservices';
import {
  AddressInfo,
  Server,
  Socket,
  createConnection,
  createServer,
} from 'net';
import { coalesceWrites } from './coalesced-writes';

describe('coalesceWrites', () => {
  let server: Server;
  let client: Socket;
  let accepted: Socket;

  beforeEach(async () => {
    const acceptedOnce = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((resolve) =>
      server.listen(0, '127.0.0.1', resolve),
    );
    client = createConnection(
      (server.address() as AddressInfo).port,
      '127.0.0.1',
    );
    accepted = await acceptedOnce;
  });

  afterEach(async () => {
    client.destroy();
    accepted.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('holds the frames of one tick back and sends them together, in order', async () => {
    const sender = new (coalesceWrites(JsonSocket))(client);
    const receiver = new JsonSocket(accepted);
    const received: unknown[] = [];
    const allThree = new Promise<void>((resolve) =>
      receiver.on('message', (message: unknown) => {
        received.push(message);
        if (received.length === 3) resolve();
      }),
    );

    for (const id of [1, 2, 3]) sender.sendMessage({ id });
    expect(client.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(client.writableCorked).toBe(0);
    await allThree;
    expect(received).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('calls back once a frame is written', async () => {
    const sender = new (coalesceWrites(JsonSocket))(client);
    await new Promise<void>((resolve, reject) =>
      sender.sendMessage({ id: 1 }, (error?: unknown) =>
        error ? reject(error) : resolve(),
      ),
    );
  });
});
