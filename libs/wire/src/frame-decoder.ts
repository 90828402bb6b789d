import { StringDecoder } from 'string_decoder';

/**
 * Nest's TCP framing, which both our clients and our servers speak:
 * `<length>#<json>`, where length counts the JSON text's UTF-16 code units
 * (JavaScript string length), not its bytes. A non-Node peer must count the
 * same way.
 */
export const FRAME_DELIMITER = '#';

/** One frame for `value`, ready to write. */
export function encodeFrame(value: unknown): string {
  const json = JSON.stringify(value);
  return `${json.length}${FRAME_DELIMITER}${json}`;
}

/** Why a connection's byte stream can no longer be read in step. */
export class FrameError extends Error {
  constructor(
    message: string,
    /** `too-large`: a frame past the limit; `corrupt`: a length that is not a number. */
    readonly kind: 'too-large' | 'corrupt',
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Longest length prefix worth reading: more digits than any allowed frame has. */
const MAX_LENGTH_DIGITS = 16;
const DIGITS = new RegExp(`^\\d{1,${MAX_LENGTH_DIGITS}}$`);

/**
 * Cuts a connection's bytes into frames. Characters split across reads (a
 * multi-byte UTF-8 sequence) are carried over. A frame larger than
 * `maxFrameChars`, or a length prefix that is not a number, is a FrameError:
 * past it the stream cannot be trusted to be in step, so the caller closes
 * the connection. Nothing past the limit is buffered: a length prefix is
 * checked before its frame is read.
 */
export class FrameDecoder {
  private buffer = '';
  /** Length of the frame being read, once its prefix has arrived. */
  private contentLength: number | undefined;
  private readonly text = new StringDecoder('utf8');
  private failed = false;

  constructor(private readonly maxFrameChars: number) {}

  /** True while part of a frame has arrived but not all of it. */
  get pending(): boolean {
    return this.buffer.length > 0 || this.contentLength !== undefined;
  }

  /** Characters held for the frame being read. */
  get bufferedChars(): number {
    return this.buffer.length;
  }

  /**
   * Adds a chunk. Returns the JSON text of every frame it completes and, when
   * the stream went out of step, the error after the frames before it.
   */
  push(chunk: Buffer | string): DecodedFrames {
    if (this.failed) return { frames: [] };
    this.buffer += typeof chunk === 'string' ? chunk : this.text.write(chunk);
    const frames: string[] = [];
    let position = 0;
    for (;;) {
      if (this.contentLength === undefined) {
        const hash = this.buffer.indexOf(FRAME_DELIMITER, position);
        if (hash === -1) {
          if (this.buffer.length - position > MAX_LENGTH_DIGITS) {
            return this.fail(
              frames,
              `no frame length delimiter within ${MAX_LENGTH_DIGITS} characters`,
              'corrupt',
            );
          }
          break;
        }
        const prefix = this.buffer.slice(position, hash);
        if (!DIGITS.test(prefix)) {
          return this.fail(
            frames,
            `corrupt frame length ${JSON.stringify(prefix.slice(0, 32))}`,
            'corrupt',
          );
        }
        const length = Number(prefix);
        if (length > this.maxFrameChars) {
          return this.fail(
            frames,
            `frame of ${length} characters exceeds the limit of ${this.maxFrameChars}`,
            'too-large',
          );
        }
        this.contentLength = length;
        position = hash + 1;
      }
      if (this.buffer.length - position < this.contentLength) break;
      frames.push(this.buffer.slice(position, position + this.contentLength));
      position += this.contentLength;
      this.contentLength = undefined;
    }
    if (position > 0) this.buffer = this.buffer.slice(position);
    return { frames };
  }

  private fail(frames: string[], message: string, kind: FrameError['kind']): DecodedFrames {
    this.failed = true;
    this.buffer = '';
    this.contentLength = undefined;
    return { frames, error: new FrameError(message, kind) };
  }
}

export interface DecodedFrames {
  frames: string[];
  error?: FrameError;
}
