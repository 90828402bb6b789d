// Guards the translation between the original's bare JSON commands and Nest
// requests: only listed commands reach a handler, internal patterns never do,
// the original's indexer fields become ours, and every refusal or reply has
// the one `{status, code, message}` error shape.
import {
  IndexerBareCommands,
  IndexerPatterns,
  PeerBareCommands,
  PeerInternalPatterns,
} from '@p2p-pubsub/protocol';
import { bareReplyFor, parseBareCommand } from './bare-command';

describe('parseBareCommand', () => {
  it('turns a peer command into its pattern and the remaining fields', () => {
    expect(
      parseBareCommand(
        '{"command": "publish", "topic": "Sports", "message": "Football match tonight!"}',
        PeerBareCommands,
      ),
    ).toEqual({
      pattern: 'publish',
      data: { topic: 'Sports', message: 'Football match tonight!' },
    });
  });

  it('moves a token field into the metadata, where a Nest client puts it', () => {
    expect(
      parseBareCommand('{"command": "pull", "topic": "Sports", "token": "t0k"}', PeerBareCommands),
    ).toEqual({ pattern: 'pull', data: { topic: 'Sports' }, metadata: { token: 't0k' } });
    expect(
      parseBareCommand('{"command": "pull", "topic": "Sports", "token": 7}', PeerBareCommands),
    ).toMatchObject({ status: 'error', code: 'VALIDATION_FAILED' });
  });

  it("maps the original indexer's commands onto ours, with host and port as the peer id", () => {
    expect(
      parseBareCommand('{"command": "query_topic", "topic": "Sports"}', IndexerBareCommands),
    ).toEqual({
      pattern: IndexerPatterns.Lookup,
      data: { topic: 'Sports' },
    });
    expect(
      parseBareCommand(
        '{"command": "add_topic", "host": "localhost", "port": 5555, "topic": "Sports"}',
        IndexerBareCommands,
      ),
    ).toEqual({
      pattern: IndexerPatterns.CreateTopic,
      data: { topic: 'Sports', peerId: 'localhost:5555' },
    });
    expect(
      parseBareCommand(
        '{"command": "unregister_peer", "host": "localhost", "port": 5555}',
        IndexerBareCommands,
      ),
    ).toEqual({ pattern: IndexerPatterns.Unregister, data: { peerId: 'localhost:5555' } });
    expect(
      parseBareCommand(
        '{"command": "register_peer", "host": "localhost", "port": 5555}',
        IndexerBareCommands,
      ),
    ).toEqual({ pattern: IndexerPatterns.Register, data: { host: 'localhost', port: 5555 } });
  });

  it('leaves malformed host and port for validation to reject rather than inventing a peer id', () => {
    expect(
      parseBareCommand(
        '{"command": "unregister_peer", "host": "localhost", "port": "5555"}',
        IndexerBareCommands,
      ),
    ).toEqual({ pattern: IndexerPatterns.Unregister, data: { host: 'localhost', port: '5555' } });
  });

  it('refuses every internal peer pattern and the Object prototype as unknown commands', () => {
    for (const command of [
      ...Object.values(PeerInternalPatterns),
      'constructor',
      '__proto__',
      'toString',
      'receive_message',
    ]) {
      expect(
        parseBareCommand(JSON.stringify({ command, topic: 'Sports' }), PeerBareCommands),
      ).toMatchObject({
        status: 'error',
        code: 'UNKNOWN_COMMAND',
        message: expect.stringContaining(`Unknown command '${command}'`),
      });
    }
  });

  it('refuses what is not a command object as VALIDATION_FAILED', () => {
    for (const [text, says] of [
      ['hello', 'Not valid JSON'],
      ['{"command": }', 'Not valid JSON'],
      ['[1,2]', 'Got an array'],
      ['"str"', 'Got a string'],
      ['42', 'Got a number'],
      ['null', 'Got null'],
      ['{"topic": "Sports"}', 'Missing "command"'],
      ['{"command": 7}', '"command" must be a string, got a number'],
    ]) {
      const reply = parseBareCommand(text, PeerBareCommands);
      expect(reply).toMatchObject({ status: 'error', code: 'VALIDATION_FAILED' });
      expect((reply as { message: string }).message).toContain(says);
    }
  });
});

describe('bareReplyFor', () => {
  it('answers with the handler result or our error reply as they are', () => {
    const result = { status: 'success', message: "Topic 'Sports' created", topic: 'Sports' };
    expect(bareReplyFor({ id: 1, response: result, isDisposed: true })).toBe(result);
    const error = { status: 'error', code: 'TOPIC_NOT_FOUND', message: "Topic 'Sports' not found" };
    expect(bareReplyFor({ id: 1, err: error, isDisposed: true })).toBe(error);
  });

  it("turns Nest's refusal of a pattern without a handler into UNKNOWN_COMMAND", () => {
    expect(
      bareReplyFor({
        id: 1,
        status: 'error',
        err: 'There is no matching message handler defined in the remote service.',
      }),
    ).toEqual({
      status: 'error',
      code: 'UNKNOWN_COMMAND',
      message: 'There is no matching message handler defined in the remote service.',
    });
  });

  it('reports a handler that completed without a value as INTERNAL', () => {
    expect(bareReplyFor({ id: 1, isDisposed: true })).toMatchObject({
      status: 'error',
      code: 'INTERNAL',
    });
  });
});
