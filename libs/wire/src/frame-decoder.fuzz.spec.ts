// Property-based tests of the frame reader every connection's bytes go
// through first: any frames, cut into any chunks (inside the length, the
// JSON or a multi-byte character), come out exactly; any bytes at all
// never throw, never make it hold more than one frame's limit, and once it
// reports the stream out of step it reads nothing more. See
// test/support/fuzz.ts for the seed and count (FUZZ_RUNS, FUZZ_SEED).
import fc from 'fast-check';
import { FUZZ_TIMEOUT_MS, fuzz } from '../../../test/support/fuzz';
import { FrameDecoder, encodeFrame } from './frame-decoder';

const LIMIT = 2_000;

/** JSON values as packets carry them, with characters of every UTF-8 length. */
const packet = fc.jsonValue({ maxDepth: 3 }).map((data) => ({ id: 1, data }));
const text = fc.string({ unit: 'binary', maxLength: 40 });

/** `bytes` cut at the given positions (sorted, deduplicated, within range). */
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

describe('FrameDecoder, property-based', () => {
  it(
    'reads any frames cut into any chunks exactly',
    () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              packet,
              text.map((data) => ({ id: 2, data })),
            ),
            { maxLength: 8 },
          ),
          fc.array(fc.nat(), { maxLength: 12 }),
          (packets, cuts) => {
            const frames = packets.map(encodeFrame).filter((frame) => frame.length < LIMIT);
            const expected = frames.map((frame) => frame.slice(frame.indexOf('#') + 1));
            const decoder = new FrameDecoder(LIMIT);
            const read: string[] = [];
            for (const chunk of cut(Buffer.from(frames.join('')), cuts)) {
              const { frames: out, error } = decoder.push(chunk);
              expect(error).toBeUndefined();
              read.push(...out);
            }
            expect(read).toEqual(expected);
            expect(decoder.pending).toBe(false);
          },
        ),
        fuzz(),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'never throws on any bytes, holds at most one frame, and stops for good after an error',
    () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        // Near-frames: digits, '#', braces, quotes, and multi-byte characters.
        fc
          .array(
            fc.constantFrom(
              '1',
              '9',
              '0',
              '#',
              '{',
              '}',
              '"',
              'é',
              '😀',
              '12#{}',
              '2000#',
              '99999999999999999#',
            ),
            {
              maxLength: 24,
            },
          )
          .map((parts) => new Uint8Array(Buffer.from(parts.join('')))),
      );
      fc.assert(
        fc.property(fc.array(bytes, { maxLength: 8 }), (chunks) => {
          const decoder = new FrameDecoder(LIMIT);
          let failed = false;
          for (const chunk of chunks) {
            const { frames, error } = decoder.push(Buffer.from(chunk));
            if (failed) expect(frames).toEqual([]);
            for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(LIMIT);
            expect(decoder.bufferedChars).toBeLessThanOrEqual(LIMIT);
            if (error) failed = true;
          }
        }),
        fuzz(),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'returns the frames before garbage, then reports the garbage',
    () => {
      fc.assert(
        fc.property(
          fc.array(packet, { maxLength: 4 }),
          fc.constantFrom('x#', '-1#', '1e3#', '#', ' 2#{}', '99999999999999999'),
          (packets, garbage) => {
            const frames = packets.map(encodeFrame).filter((frame) => frame.length < LIMIT);
            const { frames: out, error } = new FrameDecoder(LIMIT).push(
              Buffer.from(frames.join('') + garbage),
            );
            expect(out.length).toBe(frames.length);
            expect(error?.kind).toBe('corrupt');
          },
        ),
        fuzz(),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
