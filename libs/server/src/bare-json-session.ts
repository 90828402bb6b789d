import type { Socket } from 'net';
import {
  BareCommandTable,
  ErrorCodes,
  PubSubError,
  ValidationFailedError,
} from '@p2p-pubsub/protocol';
import { ReplyPacket, WireLimits } from '@p2p-pubsub/wire';
import { bareReplyFor, parseBareCommand } from './bare-command';
import { JsonTextScanner, ScannedText } from './json-text-scanner';

/**
 * One server connection that speaks the original system's bare JSON: each
 * `{"command": ...}` object becomes a Nest request (`{pattern, data, id}`
 * emitted as 'message', exactly what Nest's JSON socket emits for a frame),
 * so the same handlers, validation pipe and exception filter answer it; the
 * reply goes back as one JSON object and a newline.
 *
 * Commands run one at a time, so replies come back in the order the
 * commands were sent, and a client that pipelines many commands without
 * reading holds at most one read's worth of them here: reading pauses while
 * commands wait.
 *
 * After the client half-closes (`echo ... | ncat` does so right after its
 * line), the commands already received are still answered, then the
 * connection is ended.
 */
export class BareJsonSession {
  private readonly scanner: JsonTextScanner;
  private readonly queue: ScannedText[] = [];
  private nextId = 1;
  /** The request whose reply is awaited; nothing else is dispatched meanwhile. */
  private awaitedId?: number;
  private waitingForDrain = false;
  private readingPaused = false;
  private inputEnded = false;
  /** Set once the connection is being closed: nothing more is read or answered. */
  private finished = false;
  private incompleteTimer?: NodeJS.Timeout;

  constructor(
    private readonly socket: Socket,
    private readonly limits: WireLimits,
    private readonly commands: BareCommandTable,
    /** Reports a connection-level failure the way Nest's JSON socket does: logged, then closed. */
    private readonly fail: (error: Error, options: { destroy: boolean }) => void,
  ) {
    // Bytes and UTF-16 characters differ, but a message within the message
    // limit fits in this many bytes of JSON as it does in as many characters.
    this.scanner = new JsonTextScanner(limits.maxFrameChars);
    socket.on('close', () => this.clearIncompleteTimer());
  }

  receive(chunk: Buffer): void {
    // One read can hold tens of thousands of tiny commands: no spread.
    for (const item of this.scanner.push(chunk)) this.queue.push(item);
    this.pump();
    this.refreshIncompleteTimer();
  }

  endOfInput(): void {
    this.inputEnded = true;
    this.clearIncompleteTimer();
    this.queue.push(...this.scanner.end());
    this.pump();
  }

  /** Nest's server answering a request this session dispatched. */
  reply(packet: ReplyPacket, callback?: (error?: unknown) => void): void {
    // A handler returning a stream sends more packets after the first one;
    // a bare command gets one reply, so those are dropped. The callback
    // hears that the packet never reached the client.
    if (packet.id !== this.awaitedId || this.finished) {
      callback?.(
        new Error('reply not sent: the connection is closing or the command was answered'),
      );
      return;
    }
    this.awaitedId = undefined;
    this.write(bareReplyFor(packet), callback);
    this.pump();
  }

  private pump(): void {
    while (this.awaitedId === undefined && !this.waitingForDrain && !this.finished) {
      const item = this.queue.shift();
      if (item === undefined) break;
      this.dispatch(item);
    }
    if (this.finished) return;
    this.setReading(this.queue.length === 0);
    if (this.inputEnded && this.queue.length === 0 && this.awaitedId === undefined) {
      this.finished = true;
      this.socket.end();
    }
  }

  private dispatch(item: ScannedText): void {
    if (item.kind === 'text') {
      const request = parseBareCommand(item.text, this.commands);
      if ('pattern' in request) {
        this.awaitedId = this.nextId++;
        this.socket.emit('message', { ...request, id: this.awaitedId });
      } else {
        this.write(request);
      }
    } else if (item.kind === 'incomplete') {
      this.write(new ValidationFailedError('The input ended inside a JSON value').toReply());
    } else {
      // Refused like an oversized Nest frame: the rest of the stream cannot
      // be read in step any more, so the connection is closed after the reply.
      const message = `The command is larger than the limit of ${item.limitBytes} bytes`;
      this.write(
        new PubSubError(ErrorCodes.PayloadTooLarge, message, {
          limitBytes: item.limitBytes,
        }).toReply(),
      );
      this.finished = true;
      this.clearIncompleteTimer();
      // Keep reading (and discarding) so the client's FIN is seen and the
      // connection can close, even if reading was paused behind a backlog.
      this.socket.resume();
      this.fail(new Error(`Bare JSON: ${message}`), { destroy: false });
    }
  }

  private write(body: unknown, callback?: (error?: unknown) => void): void {
    const flushed = this.socket.write(`${JSON.stringify(body)}\n`, callback);
    // Mirrors Nest's maxSendBufferSize for a client that never reads.
    if (this.socket.writableLength > this.limits.maxSendBufferBytes) {
      this.finished = true;
      this.fail(
        new Error(
          `Bare JSON: ${this.socket.writableLength} reply bytes queued for a client that does not read`,
        ),
        { destroy: true },
      );
      return;
    }
    if (!flushed) {
      this.waitingForDrain = true;
      this.socket.once('drain', () => {
        this.waitingForDrain = false;
        this.pump();
      });
    }
  }

  private setReading(reading: boolean): void {
    if (reading === !this.readingPaused) return;
    this.readingPaused = !reading;
    if (reading) {
      this.socket.resume();
      this.refreshIncompleteTimer();
    } else {
      this.socket.pause();
      // Bytes not read yet cannot count against the client.
      this.clearIncompleteTimer();
    }
  }

  /**
   * Same rule as Nest's frames: a command that stops arriving part-way is
   * dropped with its connection once the client has been silent this long.
   */
  private refreshIncompleteTimer(): void {
    this.clearIncompleteTimer();
    if (!this.scanner.pending || this.readingPaused || this.finished) return;
    const timeoutMs = this.limits.incompleteMessageTimeoutMs;
    this.incompleteTimer = setTimeout(() => {
      this.finished = true;
      this.fail(new Error(`Bare JSON: incomplete command, nothing received for ${timeoutMs} ms`), {
        destroy: true,
      });
    }, timeoutMs);
    this.incompleteTimer.unref();
  }

  private clearIncompleteTimer(): void {
    clearTimeout(this.incompleteTimer);
    this.incompleteTimer = undefined;
  }
}
