import {
  BareCommandTable,
  ErrorCodes,
  ErrorReply,
  PubSubError,
  TOKEN,
  ValidationFailedError,
  isErrorReply,
} from '@p2p-pubsub/protocol';
import { ReplyPacket } from '@p2p-pubsub/wire';

/** A bare command turned into what Nest's server dispatches: a pattern and its payload. */
export interface BareRequest {
  pattern: string;
  data: Record<string, unknown>;
  /** A `token` field of the command, moved where a Nest client puts it. */
  metadata?: Record<string, unknown>;
}

const USAGE = 'a command is a JSON object such as {"command": "create_topic", "topic": "Sports"}';

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Reads one bare JSON text as a command of `commands`. Refusals are returned
 * as error replies rather than thrown: each is answered on the connection,
 * which then carries on with the next command.
 */
export function parseBareCommand(
  text: string,
  commands: BareCommandTable,
): BareRequest | ErrorReply {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return new ValidationFailedError(
      `Not valid JSON (${(error as Error).message}): ${USAGE}`,
    ).toReply();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ValidationFailedError(`Got ${describe(value)}: ${USAGE}`).toReply();
  }
  const { command, [TOKEN]: token, ...fields } = value as Record<string, unknown>;
  if (command === undefined) {
    return new ValidationFailedError(`Missing "command": ${USAGE}`).toReply();
  }
  if (typeof command !== 'string') {
    return new ValidationFailedError(
      `"command" must be a string, got ${describe(command)}`,
    ).toReply();
  }
  // Own properties only: "constructor" or "__proto__" must not reach Object.prototype.
  const entry = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (entry === undefined) {
    return new PubSubError(
      ErrorCodes.UnknownCommand,
      `Unknown command '${command}'; known commands: ${Object.keys(commands).join(', ')}`,
    ).toReply();
  }
  if (token !== undefined && typeof token !== 'string') {
    return new ValidationFailedError(`"token" must be a string, got ${describe(token)}`).toReply();
  }
  const data = entry.toPayload ? entry.toPayload(fields) : fields;
  return token === undefined
    ? { pattern: entry.pattern, data }
    : { pattern: entry.pattern, data, metadata: { [TOKEN]: token } };
}

/**
 * The one JSON value a bare client gets for a request: the success reply as
 * the handler returned it, or the error reply our exception filter built.
 * Nest itself answers a pattern without a handler with `status: 'error'` and
 * a plain string; that becomes UNKNOWN_COMMAND in the same error shape.
 */
export function bareReplyFor(packet: ReplyPacket): unknown {
  if ('err' in packet) {
    if (isErrorReply(packet.err)) return packet.err;
    if (packet.status === 'error' && typeof packet.err === 'string') {
      return new PubSubError(ErrorCodes.UnknownCommand, packet.err).toReply();
    }
    return new PubSubError(ErrorCodes.Internal, 'Internal error').toReply();
  }
  if ('response' in packet) return packet.response ?? null;
  // Completion without a value: the handler returned nothing.
  return new PubSubError(ErrorCodes.Internal, 'The command produced no reply').toReply();
}
