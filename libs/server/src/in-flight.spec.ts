// Guards graceful shutdown's count of requests in flight: it is kept by
// Nest's processing hooks on our TcpServer, so a request must count from
// the moment the server takes it until its reply, or shutdown would close
// sockets under requests still being handled.
import { TcpContext } from '@nestjs/microservices';
import { InFlightRequests } from './in-flight';
import { TcpServer } from './tcp-server';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('InFlightRequests', () => {
  it('counts a request from the moment the server takes it until its reply', async () => {
    const server = new TcpServer({});
    let answer!: (value: string) => void;
    server.addHandler('slow', () => new Promise<string>((resolve) => (answer = resolve)));
    const inFlight = new InFlightRequests();
    inFlight.track(server);
    const replies: unknown[] = [];
    const socket = { sendMessage: (reply: unknown) => replies.push(reply) };

    void server.handleMessage(socket as unknown as TcpContext['args'][0], {
      pattern: 'slow',
      data: {},
      id: '1',
    });
    // The server reads the packet asynchronously; then the handler waits for `answer`.
    await nextTurn();
    let idle = false;
    // A long bound: the test fails on the flag, never by waiting it out.
    const drained = inFlight.whenIdle(60_000).then(() => (idle = true));
    await nextTurn();
    expect(idle).toBe(false);

    answer('done');
    await nextTurn();
    expect(idle).toBe(true);
    await drained;
    expect(replies).toContainEqual(expect.objectContaining({ id: '1', response: 'done' }));
  });

  it('is idle at once when nothing is in flight', async () => {
    const inFlight = new InFlightRequests();
    inFlight.track(new TcpServer({}));
    let idle = false;
    // As above: a long bound, so that only a wrong count could hold it up.
    const drained = inFlight.whenIdle(60_000).then(() => (idle = true));
    await nextTurn();
    expect(idle).toBe(true);
    await drained;
  });
});
