/** One top-level item cut from the stream, not yet parsed. */
export type ScannedText =
  /** A complete candidate JSON text: an object or array, a string, or a bare word. */
  | { kind: 'text'; text: string }
  /** The item grew past the limit; the scanner ignores everything after it. */
  | { kind: 'too-large'; limitBytes: number }
  /** The input ended inside an object, array or string. */
  | { kind: 'incomplete' };

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON's four whitespace bytes. */
export function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

type State = 'between' | 'container' | 'string' | 'word' | 'stopped';

/**
 * Cuts a byte stream of concatenated JSON texts (separated by whitespace or
 * nothing at all, as the original's clients sent them) into one text per
 * top-level value, so that each can be parsed and answered on its own.
 *
 * It tracks only what delimits a value: bracket depth and string literals
 * with their escapes. Whether the text is valid JSON is left to JSON.parse,
 * which means an invalid object such as `{"a": }` still ends where its
 * brackets balance and the next one is read normally. A value that is
 * neither an object, an array nor a string (a number, `true`, garbage) is
 * a bare word and ends at whitespace or where a new value opens.
 *
 * It works on bytes: every delimiter is ASCII and never occurs inside a
 * multi-byte UTF-8 sequence, so a character split across two chunks needs
 * no care, and the size limit is counted in the bytes actually buffered.
 */
export class JsonTextScanner {
  private state: State = 'between';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Earlier chunks' share of the value being read. */
  private parts: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(private readonly maxTextBytes: number) {}

  /** True while part of a value has been received but not its end. */
  get pending(): boolean {
    return this.state !== 'between' && this.state !== 'stopped';
  }

  push(chunk: Buffer): ScannedText[] {
    if (this.state === 'stopped') return [];
    const found: ScannedText[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      switch (this.state) {
        case 'between':
          if (isJsonWhitespace(byte)) continue;
          start = i;
          this.escaped = false;
          if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.state = 'container';
            this.depth = 1;
            this.inString = false;
          } else if (byte === QUOTE) {
            this.state = 'string';
          } else {
            this.state = 'word';
          }
          continue;
        case 'container':
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (byte === BACKSLASH) this.escaped = true;
            else if (byte === QUOTE) this.inString = false;
          } else if (byte === QUOTE) {
            this.inString = true;
          } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
            this.depth++;
          } else if ((byte === CLOSE_BRACE || byte === CLOSE_BRACKET) && --this.depth === 0) {
            found.push(this.complete(chunk, start, i + 1));
          }
          break;
        case 'string':
          if (this.escaped) this.escaped = false;
          else if (byte === BACKSLASH) this.escaped = true;
          else if (byte === QUOTE) found.push(this.complete(chunk, start, i + 1));
          break;
        case 'word':
          if (
            isJsonWhitespace(byte) ||
            byte === OPEN_BRACE ||
            byte === OPEN_BRACKET ||
            byte === QUOTE
          ) {
            found.push(this.complete(chunk, start, i));
            // This byte opens the next value (or is whitespace): read it again.
            i--;
          }
          break;
      }
      if (found.at(-1)?.kind === 'too-large') return found;
    }
    if (this.pending) {
      const rest = chunk.subarray(start);
      this.parts.push(rest);
      this.bufferedBytes += rest.length;
      if (this.bufferedBytes > this.maxTextBytes) found.push(this.stop());
    }
    return found;
  }

  /** The input has ended: a trailing bare word is complete, anything else open is not. */
  end(): ScannedText[] {
    const state = this.state;
    this.state = 'stopped';
    if (state === 'word') {
      const text = Buffer.concat(this.parts).toString('utf8');
      this.reset();
      return [{ kind: 'text', text }];
    }
    this.reset();
    return state === 'container' || state === 'string' ? [{ kind: 'incomplete' }] : [];
  }

  private complete(chunk: Buffer, start: number, end: number): ScannedText {
    const size = this.bufferedBytes + (end - start);
    if (size > this.maxTextBytes) return this.stop();
    const last = chunk.subarray(start, end);
    const text =
      this.parts.length === 0
        ? last.toString('utf8')
        : Buffer.concat([...this.parts, last], size).toString('utf8');
    this.reset();
    this.state = 'between';
    return { kind: 'text', text };
  }

  /** Past the limit the stream cannot be trusted to resynchronise: stop reading it. */
  private stop(): ScannedText {
    this.reset();
    this.state = 'stopped';
    return { kind: 'too-large', limitBytes: this.maxTextBytes };
  }

  private reset(): void {
    this.parts = [];
    this.bufferedBytes = 0;
  }
}
