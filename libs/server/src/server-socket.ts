import { Logger } from '@nestjs/common';
import { TcpSocket } from '@nestjs/microservices';
import type { Socket } from 'net';
import type { TLSSocket } from 'tls';
import {
  BareCommandTable,
  ErrorReply,
  LimitExceededError,
  PubSubError,
} from '@p2p-pubsub/protocol';
import { FrameDecoder, ReplyPacket, TickCork, WireLimits, encodeFrame } from '@p2p-pubsub/wire';
import { BareJsonSession } from './bare-json-session';
import { ClientConnection } from './client-connection';
import { ConnectionRegistry } from './connection-limits';
import { isJsonWhitespace } from './json-text-scanner';
import type { Authentication, Security } from './security';

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/** A client that went away without closing: routine when a process is stopped or killed. */
const GONE = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

const logger = new Logger('TcpServer');

type WriteCallback = (error?: unknown) => void;

/** A reply announced by its handler (`trackReply`), until it settles. */
interface TrackedReply {
  bytes: number;
  settled: (handedOver: boolean) => void;
  done: boolean;
}

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
 *
 * Bounds, each answered with LIMIT_EXCEEDED rather than by degrading:
 * - a connection over the process's or its address's connection cap gets
 *   LIMIT_EXCEEDED for its first request (or bare command) and is closed;
 * - a request past the connection's in-flight cap, or arriving while the
 *   replies its client has not taken reach the queued-bytes cap, is refused
 *   with its own id before Nest sees it.
 *
 * It is also the ClientConnection handlers see: whether the client is still
 * there, and whether a given reply reached it (see `trackReply`).
 */
export class ServerSocket extends TcpSocket implements ClientConnection {
  private mode: 'undecided' | 'framed' | 'bare' = 'undecided';
  private readonly decoder: FrameDecoder;
  private bare?: BareJsonSession;
  private readonly cork: TickCork;
  private incompleteTimer?: NodeJS.Timeout;
  private backpressured = false;
  /** With security on: the connection's principal, or why it has none. */
  readonly authentication?: Authentication;
  private readonly address: string;
  /** Why this connection was not admitted; it then only answers that, once. */
  private readonly refusal?: string;
  /** Framed requests dispatched whose final reply has not been sent. */
  private inFlight = 0;
  private readonly trackedReplies = new Map<object, TrackedReply>();
  /** Bytes of tracked replies not yet written (written ones count in writableLength). */
  private announcedReplyBytes = 0;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    socket: Socket,
    private readonly limits: WireLimits,
    private readonly bareCommands: BareCommandTable,
    private readonly connections: ConnectionRegistry,
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
    this.address = socket.remoteAddress ?? 'an unknown address';
    this.refusal = connections.admit(this.address);
    if (this.refusal === undefined) {
      socket.once('close', () => connections.release(this.address));
    } else if (connections.holdRefused()) {
      connections.logRefusal(`refused a connection from ${this.address}: ${this.refusal}`);
      // It is told why on its first request; one that sends none is not kept.
      const timer = setTimeout(() => socket.destroy(), limits.incompleteMessageTimeoutMs);
      timer.unref();
      socket.once('close', () => {
        clearTimeout(timer);
        connections.releaseRefused();
      });
    } else {
      connections.logRefusal(
        `refused a connection from ${this.address} and closed it at once: ${this.refusal}`,
      );
      socket.destroy();
    }
    // `echo ... | ncat` half-closes right after its line. Nest's server
    // sockets are not half-open, so Node would end them on that FIN before
    // the reply is written; ending is decided on 'end' here instead.
    socket.allowHalfOpen = true;
    socket.on('end', () => {
      if (this.bare) this.bare.endOfInput();
      else socket.end();
    });
    socket.on('close', () => this.closed());
  }

  /** A client that half-closed (`echo ... | ncat`) still reads its replies: open until we end. */
  get open(): boolean {
    return !this.netSocket.destroyed && this.netSocket.writable;
  }

  onClose(listener: () => void): () => void {
    if (!this.open) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  assertReplyRoom(): void {
    const queued = this.queuedReplyBytes;
    if (queued < this.connectionLimits.maxQueuedReplyBytes) return;
    const refusal = this.queuedBytesRefusal(queued);
    this.connections.logRefusal(`refused a request from ${this.address}: ${refusal.message}`);
    throw refusal;
  }

  trackReply(reply: object, bytes: number, settled: (handedOver: boolean) => void): void {
    if (!this.open) {
      settled(false);
      return;
    }
    this.trackedReplies.set(reply, { bytes, settled, done: false });
    this.announcedReplyBytes += bytes;
  }

  private get connectionLimits() {
    return this.connections.limits;
  }

  /** Replies this connection holds that its client has not taken: queued and announced. */
  private get queuedReplyBytes(): number {
    return this.netSocket.writableLength + this.announcedReplyBytes;
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
    // A refused bare connection has no session: what it sends is dropped.
    if (this.mode === 'bare') return this.bare?.receive(chunk);
    let first = 0;
    while (first < chunk.length && isJsonWhitespace(chunk[first])) first++;
    // Blank so far: nothing to decide on, and nothing worth keeping.
    if (first === chunk.length) return;
    const rest = chunk.subarray(first);
    if (isDigit(rest[0])) {
      this.mode = 'framed';
      this.readFrames(rest);
    } else if (this.refusal !== undefined) {
      // No need to read the command to refuse it: the connection goes.
      this.mode = 'bare';
      this.refuseConnection((reply) => `${JSON.stringify(reply)}\n`);
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

  protected handleSend(message: ReplyPacket, callback?: WriteCallback): void {
    // The last packet of a request: a stream's ends with isDisposed, an error is always last.
    if (this.inFlight > 0 && (message.isDisposed === true || 'err' in message)) this.inFlight--;
    const tracked =
      typeof message.response === 'object' && message.response !== null
        ? this.trackedReplies.get(message.response)
        : undefined;
    const written = tracked
      ? this.settleOnWrite(message.response as object, tracked, callback)
      : callback;
    if (this.bare) return this.bare.reply(message, written);
    this.writeFrame(message, written);
  }

  /**
   * The request of a complete frame goes to Nest's server, or is refused
   * here with its id when the connection is at one of its bounds.
   */
  protected emitMessage(data: string): void {
    let request: { id?: unknown } | null;
    try {
      request = JSON.parse(data) as { id?: unknown } | null;
    } catch (error) {
      // Thrown like Nest's own socket: the connection is reported and closed.
      throw new Error(`Could not parse a frame as JSON: ${(error as Error).message}`);
    }
    if (this.refusal !== undefined) {
      const id = typeof request === 'object' && request !== null ? request.id : undefined;
      this.refuseConnection((reply) => encodeFrame({ id, err: reply, isDisposed: true }));
      return;
    }
    const id = typeof request === 'object' && request !== null ? request.id : undefined;
    if (id !== undefined) {
      const refusal = this.requestRefusal();
      if (refusal) {
        this.writeFrame({ id, err: refusal.toReply(), isDisposed: true });
        return;
      }
      this.inFlight++;
    }
    this.netSocket.emit('message', request ?? {});
  }

  private requestRefusal(): PubSubError | undefined {
    const { maxInFlightPerConnection, maxQueuedReplyBytes } = this.connectionLimits;
    let refusal: PubSubError | undefined;
    if (this.inFlight >= maxInFlightPerConnection) {
      refusal = new LimitExceededError(
        `${this.inFlight} requests are in flight on this connection, its limit ` +
          `(MAX_IN_FLIGHT_PER_CONNECTION); wait for replies before sending more`,
        { limit: 'MAX_IN_FLIGHT_PER_CONNECTION' },
      );
    } else {
      const queued = this.queuedReplyBytes;
      if (queued >= maxQueuedReplyBytes) refusal = this.queuedBytesRefusal(queued);
    }
    if (refusal) {
      this.connections.logRefusal(`refused a request from ${this.address}: ${refusal.message}`);
    }
    return refusal;
  }

  private queuedBytesRefusal(queued: number): PubSubError {
    return new LimitExceededError(
      `${queued} reply bytes are waiting for this client to read them, the limit ` +
        `(MAX_QUEUED_REPLY_BYTES); read replies before sending more requests`,
      { limit: 'MAX_QUEUED_REPLY_BYTES' },
    );
  }

  /** Answers a connection that was not admitted, once, and closes it. */
  private refuseConnection(format: (reply: ErrorReply) => string): void {
    if (this.netSocket.writableEnded) return;
    const reply = new LimitExceededError(`Connection refused: ${this.refusal}`, {
      limit: this.refusal!.includes('PER_ADDRESS')
        ? 'MAX_CONNECTIONS_PER_ADDRESS'
        : 'MAX_CONNECTIONS',
    }).toReply();
    this.netSocket.end(format(reply));
  }

  private writeFrame(packet: ReplyPacket, callback?: WriteCallback): void {
    const socket = this.netSocket;
    this.cork.hold();
    const flushed = socket.write(encodeFrame(packet), callback);
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

  /**
   * The write callback of a tracked reply: it settles the reply as handed
   * over when the operating system took its bytes on a connection that is
   * still open, and as lost otherwise.
   */
  private settleOnWrite(reply: object, tracked: TrackedReply, callback?: WriteCallback) {
    this.trackedReplies.delete(reply);
    // From here on its bytes count in the socket's writableLength.
    this.announcedReplyBytes -= tracked.bytes;
    return (error?: unknown) => {
      settle(tracked, !error && !this.netSocket.destroyed);
      callback?.(error);
    };
  }

  private closed(): void {
    this.clearIncompleteTimer();
    // Replies announced but never written: the client will not get them.
    for (const tracked of this.trackedReplies.values()) settle(tracked, false);
    this.trackedReplies.clear();
    this.announcedReplyBytes = 0;
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const listener of listeners) listener();
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

function settle(tracked: TrackedReply, handedOver: boolean): void {
  if (tracked.done) return;
  tracked.done = true;
  tracked.settled(handedOver);
}

/**
 * The class Nest's server is given: it constructs a socket class with the
 * socket alone. Its connections share one registry, so the connection caps
 * hold for the whole server.
 */
export function createServerSocketClass(
  limits: WireLimits,
  bareCommands: BareCommandTable,
  connections: ConnectionRegistry,
  security?: Security,
): new (socket: Socket) => ServerSocket {
  return class extends ServerSocket {
    constructor(socket: Socket) {
      super(socket, limits, bareCommands, connections, security);
    }
  };
}
