// Guards the frame reader both our clients and our servers use: frames split
// anywhere (inside the length, the JSON or a multi-byte character) and
// frames run together are read exactly; a length past the limit or one that
// is not a number stops the stream before anything more is buffered.
import { FrameDecoder, encodeFrame } from './frame-decoder';

const LIMIT = 1000;

function decodeAll(decoder: FrameDecoder, chunks: Array<Buffer | string>): unknown[] {
  return chunks.flatMap((chunk) => {
    const { frames, error } = decoder.push(chunk);
    if (error) throw error;
    return frames.map((frame) => JSON.parse(frame));
  });
}

describe('FrameDecoder', () => {
  const packets = [
    { id: 1, pattern: 'publish', data: { message: 'héllo ☃ 😀' } },
    { id: 2 },
    { id: 3, data: '#' },
  ];
  const bytes = Buffer.from(packets.map(encodeFrame).join(''));

  it('reads frames run together in one chunk', () => {
    expect(decodeAll(new FrameDecoder(LIMIT), [bytes])).toEqual(packets);
  });

  it('reads the same frames split at every byte boundary', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const decoder = new FrameDecoder(LIMIT);
      expect(decodeAll(decoder, [bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(packets);
      expect(decoder.pending).toBe(false);
    }
  });

  it('counts a frame in UTF-16 code units, as Nest does', () => {
    const frame = encodeFrame({ message: '😀' });
    expect(Number(frame.slice(0, frame.indexOf('#')))).toBe(
      JSON.stringify({ message: '😀' }).length,
    );
  });

  it('refuses a length past the limit before reading the frame', () => {
    const decoder = new FrameDecoder(LIMIT);
    const { frames, error } = decoder.push(`${encodeFrame({ id: 1 })}${LIMIT + 1}#{`);
    expect(frames).toEqual(['{"id":1}']);
    expect(error).toMatchObject({ kind: 'too-large' });
    expect(decoder.bufferedChars).toBe(0);
    expect(decoder.push(encodeFrame({ id: 2 })).frames).toEqual([]);
  });

  it.each([
    ['abc#{}'],
    ['-1#{}'],
    ['1e3#{}'],
    [' 2#{}'],
    ['12345678901234567#{}'],
    ['9'.repeat(40)],
  ])('refuses the corrupt length prefix %j', (input) => {
    expect(new FrameDecoder(LIMIT).push(input).error).toMatchObject({ kind: 'corrupt' });
  });

  it('says a frame is pending while only part of it has arrived', () => {
    const decoder = new FrameDecoder(LIMIT);
    decoder.push('9#{"id"');
    expect(decoder.pending).toBe(true);
    decoder.push(':12}');
    expect(decoder.pending).toBe(false);
  });
});
