// Guards the cutting of a bare-JSON stream into commands: a command split
// across reads, braces or quotes inside strings, or a character split across
// reads must never shift where one command ends and the next begins, and no
// command may grow past the limit.
import { JsonTextScanner, ScannedText } from './json-text-scanner';

/** Feeds `chunks` in order and returns every text found, then what end() adds. */
function scan(chunks: Array<string | Buffer>, limit = 1024 * 1024): ScannedText[] {
  const scanner = new JsonTextScanner(limit);
  const found = chunks.flatMap((chunk) =>
    scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk),
  );
  return [...found, ...scanner.end()];
}

const texts = (items: ScannedText[]) =>
  items.map((item) => (item.kind === 'text' ? item.text : item.kind));

/** Splits `input` into chunks of `size` bytes. */
function bytesOf(input: string, size: number): Buffer[] {
  const bytes = Buffer.from(input);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

describe('JsonTextScanner', () => {
  it('cuts objects with or without newlines between them', () => {
    expect(texts(scan(['{"a":1}{"b":2}\n{"c":3}\r\n  {"d":4}']))).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
      '{"d":4}',
    ]);
  });

  it('finds an object sent without a newline before the input ends', () => {
    const scanner = new JsonTextScanner(1024);
    expect(texts(scanner.push(Buffer.from('{"command": "list_topics"}')))).toEqual([
      '{"command": "list_topics"}',
    ]);
    expect(scanner.pending).toBe(false);
  });

  it('reassembles an object delivered one byte at a time', () => {
    const input =
      '{"command": "publish", "topic": "Sports", "nested": {"list": [1, {"x": []}]}}\n{"next": true}';
    expect(texts(scan(bytesOf(input, 1)))).toEqual([
      '{"command": "publish", "topic": "Sports", "nested": {"list": [1, {"x": []}]}}',
      '{"next": true}',
    ]);
  });

  it('ignores braces, brackets and escaped quotes inside strings', () => {
    const tricky = String.raw`{"message": "}{ ][ \" \\\" \\", "b": "\\"}`;
    expect(JSON.parse(tricky)).toEqual({ message: '}{ ][ " \\" \\', b: '\\' });
    for (const size of [1, 2, 3, 1000]) {
      expect(texts(scan(bytesOf(`${tricky}{"after": 1}`, size)))).toEqual([tricky, '{"after": 1}']);
    }
  });

  it('decodes a multi-byte character split across chunks', () => {
    const input = '{"message": "café ☕ 🎉 Größe"}';
    const bytes = Buffer.from(input);
    // Cut inside the 4-byte emoji and inside the 3-byte cup.
    const emoji = bytes.indexOf(Buffer.from('🎉'));
    const cup = bytes.indexOf(Buffer.from('☕'));
    const chunks = [
      bytes.subarray(0, cup + 1),
      bytes.subarray(cup + 1, emoji + 2),
      bytes.subarray(emoji + 2),
    ];
    expect(texts(scan(chunks))).toEqual([input]);
    expect(texts(scan(bytesOf(input, 1)))).toEqual([input]);
  });

  it('cuts arrays, strings and bare words as texts of their own for the caller to refuse', () => {
    expect(texts(scan(['[1,[2]] "a \\" {" hello\n42 true{"x":1}']))).toEqual([
      '[1,[2]]',
      '"a \\" {"',
      'hello',
      '42',
      'true',
      '{"x":1}',
    ]);
  });

  it('ends an invalid object where its brackets balance, so the next one is read in step', () => {
    expect(texts(scan(['{"a": }{"b": 1}']))).toEqual(['{"a": }', '{"b": 1}']);
  });

  it('completes a trailing bare word at the end of input and reports an unfinished object', () => {
    expect(texts(scan(['nonsense']))).toEqual(['nonsense']);
    expect(texts(scan(['{"a": "b']))).toEqual(['incomplete']);
    expect(texts(scan(['"open string']))).toEqual(['incomplete']);
    expect(texts(scan(['  \n']))).toEqual([]);
  });

  describe('size limit', () => {
    const object = (length: number) => `{"m":"${'x'.repeat(length - 8)}"}`;

    it('accepts an object of exactly the limit, in one chunk or many', () => {
      expect(object(100)).toHaveLength(100);
      expect(texts(scan([object(100)], 100))).toEqual([object(100)]);
      expect(texts(scan(bytesOf(object(100), 7), 100))).toEqual([object(100)]);
    });

    it('counts bytes, not characters', () => {
      const text = `{"m":"${'é'.repeat(46)}"}`;
      expect(text).toHaveLength(54);
      expect(Buffer.byteLength(text)).toBe(100);
      expect(texts(scan([text], 100))).toEqual([text]);
      expect(texts(scan([text], 99))).toEqual(['too-large']);
    });

    it('refuses an object one byte over the limit and then ignores the stream', () => {
      expect(scan([object(101), '{"next": 1}'], 100)).toEqual([
        { kind: 'too-large', limitBytes: 100 },
      ]);
    });

    it('refuses a growing object before its end arrives, without buffering the rest', () => {
      const scanner = new JsonTextScanner(100);
      expect(scanner.push(Buffer.from('{"m":"'))).toEqual([]);
      expect(scanner.pending).toBe(true);
      expect(scanner.push(Buffer.alloc(200, 'x'))).toEqual([
        { kind: 'too-large', limitBytes: 100 },
      ]);
      expect(scanner.pending).toBe(false);
      expect(scanner.push(Buffer.from('"}{"a":1}'))).toEqual([]);
    });

    it('applies to bare words too', () => {
      expect(texts(scan(['y'.repeat(50)], 10))).toEqual(['too-large']);
    });

    it('applies to each object on its own, not to the stream', () => {
      const many = Array.from({ length: 50 }, () => object(90)).join('\n');
      expect(scan(bytesOf(many, 64), 100)).toHaveLength(50);
    });
  });
});
