import type { PulledMessage } from '@p2p-pubsub/protocol';

/** How `pubsub sub` prints a message. */
export type MessagePrinter = (topic: string, message: PulledMessage) => string;

/** The message text and a newline. */
export const rawFormat: MessagePrinter = (_topic, { message }) => `${message}\n`;

/** One JSON object per line: topic, offset, publishedAt (ms since the epoch), message. */
export const jsonFormat: MessagePrinter = (topic, { offset, publishedAt, message }) =>
  `${JSON.stringify({ topic, offset, publishedAt, message })}\n`;

const TOKENS: Record<string, (topic: string, message: PulledMessage) => string> = {
  t: (topic) => topic,
  o: (_topic, { offset }) => String(offset),
  s: (_topic, { message }) => message,
  S: (_topic, { message }) => String(Buffer.byteLength(message, 'utf8')),
  T: (_topic, { publishedAt }) => String(publishedAt),
  '%': () => '%',
};
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

/**
 * A kcat-style format: %t topic, %o offset, %s message, %S its size in bytes,
 * %T publish time (ms since the epoch), %% a percent sign; \n, \t, \r, \\.
 * Nothing is added: end the format with \n for one message per line.
 */
export function customFormat(format: string): MessagePrinter {
  const parts: Array<string | ((topic: string, message: PulledMessage) => string)> = [];
  for (let index = 0; index < format.length; index++) {
    const char = format[index];
    const next = format[index + 1];
    if (char === '%' && next !== undefined && TOKENS[next]) {
      parts.push(TOKENS[next]);
      index++;
    } else if (char === '\\' && next !== undefined && ESCAPES[next]) {
      parts.push(ESCAPES[next]);
      index++;
    } else if (char === '%') {
      throw new Error(`unknown format token '%${next ?? ''}' (known: %t %o %s %S %T %%)`);
    } else {
      parts.push(char);
    }
  }
  return (topic, message) =>
    parts.map((part) => (typeof part === 'string' ? part : part(topic, message))).join('');
}
