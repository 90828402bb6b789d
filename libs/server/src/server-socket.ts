import { Logger } from '@nestjs/common';
import { TcpSocket } from '@nestjs/microservices';
import type { Socket } from 'net';
import type { TLSSocket } from 'tls';
import { BareCommandTable } from '@p2p-pubsub/protocol';
import { FrameDecoder, ReplyPacket, TickCork, WireLimits, encodeFrame } from '@p2p-pubsub/wire';
import { BareJsonSession } from './bare-json-session';
import { isJsonWhitespace } from './json-text-scanner';
import type { Authentication, Security } from './security';

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/** A client that went away without closing: routine when a process is stopped or killed. */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

const logger = new Logger('TcpServer');

/**
 * The socket class of our TCP servers (Nest's `socketClass` hook): Nest's
 * framed packets and the original system's bare JSON commands on one port.
 * A connection's first non-blank byte decides once for its whole life: a
 * digit starts a Nest frame (`<length>#<json>`), read by the same
 * FrameDecoder our clients use; anything else is bare JSON, handled by a
 * BareJsonSession that accepts only the commands of `bareCommands`.
 *
 * Nest constructs a custom socket class as `new socketClass(socket)` and
 * passes it none of its framing options, so the limits are baked into the
 * class here. Replies written in one tick leave in one write (TickCork), and
 * Nagle is off: requests and replies are small and latency-bound.
 *
 * With security on, the socket is a TLS socket whose handshake has just
 * completed: who it is (`authentication`, which the guards read) is decided
 * here once, and the connection must send its first request in time.
 */
export class ServerSocket extends TcpSocket {
  private mode: 'undecided' | 'framed' | 'bare' = 'undecided';
  private readonly decoder: FrameDecoder;
  private bare?: BareJsonSession;
  private readonly cork: TickCork;
  private incompleteTimer?: NodeJS.Timeout;
  private backpressured = false;
  /** With security on: the connection's principal, or why it has none. */
  readonly authentication?: Authentication;

  constructor(
    socket: Socket,
    private readonly limits: WireLimits,
    private readonly bareCommands: BareCommandTable,
    security?: Security,
  ) {
    super(socket);
    if (security?.enabled) {
      this.authentication = security.authenticate(socket as TLSSocket);
      this.awaitFirstRequest(security);
    }
    this.decoder = new FrameDecoder(limits.maxFrameChars);
    socket.setNoDelay(true);
    this.cork = new TickCork(socket);
    // `echo ... | ncat` half-closes right after its line. Nest's server
    // sockets are not half-open, so Node would end them on that FIN before
    // the reply is written; ending is decided on 'end' here instead.
    socket.allowHalfOpen = true;
    socket.on('end', () => {
      if (this.bare) this.bare.endOfInput();
      else socket.end();
    });
    socket.on('close', () => this.clearIncompleteTimer());
  }

  /**
   * Nest's server logs a socket error as "The invalid received message from
   * tcp server" with a stack and without the error itself. Here a client that
   * vanished (ECONNRESET) is a debug line, and a connection closed for
   * breaking the wire's rules is one warning naming the client and the rule.
   */
  override on(event: string, callback: (err?: any) => void): this {
    if (event !== 'error') return super.on(event, callback);
    return super.on('error', (error: unknown) => this.reportError(error));
  }

  protected handleData(data: Buffer | string): void {
    const chunk = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.mode === 'framed') return this.readFrames(chunk);
    if (this.mode === 'bare') return this.bare!.receive(chunk);
    let first = 0;
    while (first < chunk.length && isJsonWhitespace(chunk[first])) first++;
    // Blank so far: nothing to decide on, and nothing worth keeping.
    if (first === chunk.length) return;
    const rest = chunk.subarray(first);
    if (isDigit(rest[0])) {
      this.mode = 'framed';
      this.readFrames(rest);
    } else {
      this.mode = 'bare';
      this.bare = new BareJsonSession(
        this.netSocket,
        this.limits,
        this.bareCommands,
        (error, options) => this.handleDataError(error, options),
      );
      this.bare.receive(rest);
    }
  }

  protected handleSend(message: ReplyPacket, callback?: (error?: unknown) => void): void {
    if (this.bare) return this.bare.reply(message, callback);
    const socket = this.netSocket;
    this.cork.hold();
    const flushed = socket.write(encodeFrame(message), callback);
    // A client that sends requests but does not read the replies would make
    // this process hold every reply: stop reading its requests until it
    // catches up, and give up on it past the send buffer limit.
    if (!flushed) this.pauseUntilDrained();
    if (socket.writableLength > this.limits.maxSendBufferBytes) {
      this.handleDataError(
        new Error(`${socket.writableLength} reply bytes queued for a client that does not read`),
        { destroy: true },
      );
    }
  }

  private reportError(error: unknown): void {
    const client = `${this.netSocket.remoteAddress}:${this.netSocket.remotePort}`;
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code !== undefined && GONE.has(code)) {
      logger.debug(`connection from ${client} lost (${code})`);
    } else {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(`connection from ${client} closed: ${reason}`);
    }
  }

  private readFrames(chunk: Buffer): void {
    const { frames, error } = this.decoder.push(chunk);
    // emitMessage parses the frame and hands it to Nest's server; a frame
    // that is not JSON throws, and Nest closes the connection.
    for (const frame of frames) this.emitMessage(frame);
    if (error) {
      this.clearIncompleteTimer();
      this.handleDataError(error);
      return;
    }
    this.refreshIncompleteTimer();
  }

  /** A connection that authenticates and then sits idle holds a socket and a TLS session for nothing. */
  private awaitFirstRequest(security: Security): void {
    const timeoutMs = security.settings.connectTimeoutMs;
    const timer = setTimeout(
      () => security.cut(this.netSocket, `no request within ${timeoutMs} ms of the TLS handshake`),
      timeoutMs,
    );
    timer.unref();
    // Both wires hand a request to Nest as a 'message' event on the socket.
    this.netSocket.once('message', () => clearTimeout(timer));
    this.netSocket.once('close', () => clearTimeout(timer));
  }

  private pauseUntilDrained(): void {
    if (this.backpressured) return;
    this.backpressured = true;
    this.netSocket.pause();
    this.netSocket.once('drain', () => {
      this.backpressured = false;
      this.netSocket.resume();
    });
  }

  /** A frame that stops arriving part-way is dropped with its connection after the timeout. */
  private refreshIncompleteTimer(): void {
    this.clearIncompleteTimer();
    if (!this.decoder.pending) return;
    const timeoutMs = this.limits.incompleteMessageTimeoutMs;
    this.incompleteTimer = setTimeout(
      () =>
        this.handleDataError(new Error(`incomplete frame: nothing received for ${timeoutMs} ms`), {
          destroy: true,
        }),
      timeoutMs,
    );
    this.incompleteTimer.unref();
  }

  private clearIncompleteTimer(): void {
    clearTimeout(this.incompleteTimer);
    this.incompleteTimer = undefined;
  }
}

/** The class Nest's server is given: it constructs a socket class with the socket alone. */
export function createServerSocketClass(
  limits: WireLimits,
  bareCommands: BareCommandTable,
  security?: Security,
): new (socket: Socket) => ServerSocket {
  return class extends ServerSocket {
    constructor(socket: Socket) {
      super(socket, limits, bareCommands, security);
    }
  };
}
