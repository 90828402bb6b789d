// Guards the shortcut in TcpServer's handler lookup: it must find exactly
// what Nest's own lookup finds, for plain, JSON-quoted, object and unknown
// patterns alike.
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
