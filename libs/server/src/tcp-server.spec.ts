// Guards the shortcut in TcpServer's handler lookup: it must find exactly
// what Nest's own lookup finds, for plain, JSON-quoted, object and unknown
// patterns alike; and an unknown pattern is answered in our error shape, not
// with Nest's bare string.
import { jest } from '@jest/globals';
import { ServerTCP } from '@nestjs/microservices';
import { TcpServer } from './tcp-server';

describe('TcpServer.getHandlerByPattern', () => {
  const handler = async () => 'plain';
  const objectHandler = async () => 'object';

  function servers(): ServerTCP[] {
    return [new TcpServer({}), new ServerTCP({})].map((server) => {
      server.addHandler('publish', handler);
      server.addHandler({ cmd: 'sum' }, objectHandler);
      return server;
    });
  }

  it.each([
    ['a plain string pattern', 'publish'],
    ['a JSON-quoted string pattern', '"publish"'],
    ['an object pattern as JSON', '{"cmd":"sum"}'],
    ['an unknown pattern', 'unknown'],
    ['malformed JSON', '{"cmd":'],
  ])('finds what Nest finds for %s', (_what, pattern) => {
    const [ours, nests] = servers();
    expect(ours.getHandlerByPattern(pattern)).toBe(nests.getHandlerByPattern(pattern));
  });

  it('finds a plain string pattern without parsing it as JSON', () => {
    const [ours] = servers();
    const parse = jest.spyOn(JSON, 'parse');
    expect(ours.getHandlerByPattern('publish')).toBe(handler);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();
  });
});

describe('TcpServer.handleMessage', () => {
  function sentFor(server: ServerTCP, packet: unknown): Promise<unknown[]> {
    const sent: unknown[] = [];
    const socket = { sendMessage: (message: unknown) => sent.push(message) };
    return server.handleMessage(socket as never, packet).then(() => sent);
  }

  it('answers a request for an unknown pattern with UNKNOWN_COMMAND in our error shape', async () => {
    const sent = await sentFor(new TcpServer({}), { pattern: 'nope', data: {}, id: 7 });
    expect(sent).toEqual([
      {
        id: 7,
        status: 'error',
        err: { status: 'error', code: 'UNKNOWN_COMMAND', message: 'Unknown pattern "nope"' },
      },
    ]);
  });

  it('names an object pattern as JSON', async () => {
    const sent = await sentFor(new TcpServer({}), { pattern: { cmd: 'x' }, data: {}, id: 1 });
    expect(sent).toMatchObject([{ err: { message: 'Unknown pattern "{\\"cmd\\":\\"x\\"}"' } }]);
  });

  it('leaves an event for an unknown pattern to Nest, which answers nothing', async () => {
    expect(await sentFor(new TcpServer({}), { pattern: 'nope', data: {} })).toEqual([]);
  });
});
