// Property-based tests of the scanner that cuts the bare JSON wire into
// commands: any JSON texts run together (with or without whitespace), cut
// into any chunks, come out as exactly those texts; and for any bytes at
// all, how they are cut into reads never changes what comes out, nothing
// throws, nothing past the limit is returned, and after a too-large item
// nothing more is. See test/support/fuzz.ts (FUZZ_RUNS, FUZZ_SEED).
import fc from 'fast-check';
import { FUZZ_TIMEOUT_MS, fuzz } from '../../../test/support/fuzz';
import { JsonTextScanner, ScannedText } from './json-text-scanner';

const LIMIT = 512;

function scan(chunks: Buffer[], limit = LIMIT): ScannedText[] {
  const scanner = new JsonTextScanner(limit);
  const found: ScannedText[] = [];
  for (const chunk of chunks) found.push(...scanner.push(chunk));
  return [...found, ...scanner.end()];
}

function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((at) => at % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** What the bare wire carries: objects, arrays and strings, with any characters inside. */
const command = fc.oneof(
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
    maxKeys: 4,
  }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const whitespace = fc.constantFrom('', ' ', '\n', '\r\n', '\t  ');

describe('JsonTextScanner, property-based', () => {
  it(
    'cuts any JSON texts run together, read in any chunks, into exactly those texts',
    () => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(command, whitespace), { maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          (items, cuts) => {
            const texts = items
              .map(([value]) => JSON.stringify(value))
              .filter((text) => Buffer.byteLength(text) <= LIMIT);
            const input = texts.map((text, i) => text + items[i][1]).join('');
            const found = scan(cut(Buffer.from(input), cuts));
            expect(found).toEqual(texts.map((text) => ({ kind: 'text', text })));
          },
        ),
        fuzz(),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'finds the same items in any bytes however they are cut, never past the limit',
    () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc
          .array(
            fc.constantFrom(
              '{',
              '}',
              '[',
              ']',
              '"',
              '\\',
              ' ',
              '\n',
              'a',
              '1',
              'é',
              '😀',
              '{"c":"}"}',
            ),
            {
              maxLength: 60,
            },
          )
          .map((parts) => new Uint8Array(Buffer.from(parts.join('')))),
      );
      fc.assert(
        fc.property(
          bytes,
          fc.array(fc.nat(), { maxLength: 12 }),
          fc.integer({ min: 4, max: 64 }),
          (input, cuts, limit) => {
            const whole = scan([Buffer.from(input)], limit);
            expect(scan(cut(Buffer.from(input), cuts), limit)).toEqual(whole);
            for (const item of whole) {
              // Counted in the bytes received; each becomes at most one character
              // (an invalid UTF-8 byte becomes U+FFFD, three bytes re-encoded).
              if (item.kind === 'text') expect(item.text.length).toBeLessThanOrEqual(limit);
            }
            const tooLarge = whole.findIndex((item) => item.kind === 'too-large');
            if (tooLarge !== -1) expect(tooLarge).toBe(whole.length - 1);
          },
        ),
        fuzz(),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
