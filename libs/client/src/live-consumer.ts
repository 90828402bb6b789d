import { randomBytes } from 'crypto';
import {
  CONSUME_HEARTBEATS_MISSED,
  ConsumeFrame,
  DEFAULT_CONSUME_HEARTBEAT_MS,
  ErrorCodes,
  PeerStreamPatterns,
  PubSubError,
  PulledMessage,
  StartPosition,
} from '@p2p-pubsub/protocol';
import { Backoff } from './backoff';
import { ConnectionOptions, RpcConnection } from './rpc-connection';

export interface LiveConsumerOptions {
  topic: string;
  /**
   * The consumer whose acknowledged position the peer keeps. Without one
   * the position lives here alone (a reconnect goes on after the last
   * message handed over) and nothing is left on the peer.
   */
  consumer?: string;
  /**
   * Where to start without an acknowledged position: `latest`, `earliest`
   * or an offset. Default `earliest` for a named consumer (the oldest
   * message the peer holds), `latest` without one.
   */
  from?: StartPosition;
  /**
   * Messages delivered and not yet acknowledged, at most: what this process
   * may be holding for its handler, and what the peer may have sent ahead.
   * Default 256.
   */
  credit?: number;
  /** How often each end shows it is alive. Default 5000. */
  heartbeatMs?: number;
  /** Reconnection backoff. Default 100 ms doubling to 5 s. */
  retry?: { initialMs?: number; maxMs?: number };
}

export interface ConsumedMessage extends PulledMessage {
  topic: string;
}

export interface LiveConsumerEvents {
  /** Each message once, in offset order; it counts against the credit until `ack`. */
  message(message: ConsumedMessage): void;
  /** A stream started (again) at the consumer's acknowledged position. */
  started?(startOffset: number): void;
  /** A stream failed; the consumer connects again after a backoff unless `willRetry` is false. */
  error?(error: PubSubError, willRetry: boolean): void;
}

/** Failures that another attempt cannot fix. */
const FATAL = new Set<string>([ErrorCodes.ValidationFailed, ErrorCodes.UnknownCommand]);

/**
 * Follows one topic on one peer through `consume`: the peer pushes messages
 * as they are published, at most `credit` ahead of what this side has
 * acknowledged. `ack(offset)` marks a message processed; acknowledgements
 * advance the consumer's position on the peer durably (in offset order:
 * past every message processed so far) and return credit. Both ends send
 * heartbeats, and either takes the other for dead after missing three.
 * After any failure (the peer restarting, a dead connection) it connects
 * again with backoff, and the peer resumes from the acknowledged position:
 * messages delivered but not acknowledged come again, and the ones this
 * side has already handed to `message` are dropped, so each reaches the
 * handler once per process.
 */
export class LiveConsumer {
  private readonly credit: number;
  private readonly heartbeatMs: number;
  private readonly backoff: Backoff;
  private connection?: RpcConnection;
  private stream = '';
  private stopStream?: () => void;
  private closed = false;
  /** Offsets handed to `message` and not yet acknowledged, in order. */
  private readonly unacked: number[] = [];
  private readonly acked = new Set<number>();
  /** The next offset to hand to `message`; lower ones are repeats after a reconnect. */
  private nextToHand: number | undefined;
  /** Where the stream goes on past what was handed: the position once all is acknowledged. */
  private streamNext = 0;
  /** The acknowledged position last sent, and the one to send. */
  private sentPosition: number | undefined;
  private ackTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private lastHeardAt = 0;
  private lastSentAt = 0;

  constructor(
    private readonly connectionOptions: ConnectionOptions,
    private readonly options: LiveConsumerOptions,
    private readonly events: LiveConsumerEvents,
  ) {
    this.credit = options.credit ?? 256;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_CONSUME_HEARTBEAT_MS;
    this.backoff = new Backoff({
      initialMs: options.retry?.initialMs ?? 100,
      maxMs: options.retry?.maxMs ?? 5_000,
    });
  }

  get topic(): string {
    return this.options.topic;
  }

  /** Messages handed over and not yet acknowledged. */
  get inFlight(): number {
    return this.unacked.length;
  }

  start(): void {
    if (this.closed || this.connection) return;
    this.connect();
  }

  /** Marks the message at `offset` processed. */
  ack(offset: number): void {
    // Already acknowledged, or never handed out (a repeat): nothing to do.
    if (this.unacked.length === 0 || offset < this.unacked[0]) return;
    this.acked.add(offset);
    while (this.unacked.length > 0 && this.acked.has(this.unacked[0])) {
      this.acked.delete(this.unacked.shift()!);
    }
    this.scheduleAck();
  }

  /** Sends what is acknowledged, stops the stream and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.ackTimer);
    clearInterval(this.heartbeatTimer);
    this.stopStream?.();
    const connection = this.connection;
    this.connection = undefined;
    if (!connection) return;
    await this.sendAck(connection).catch(() => undefined);
    await connection.close();
  }

  private connect(): void {
    const connection = new RpcConnection(this.connectionOptions);
    this.connection = connection;
    this.stream = randomBytes(8).toString('hex');
    this.lastHeardAt = Date.now();
    let started = false;
    this.stopStream = connection.stream<ConsumeFrame>(
      PeerStreamPatterns.Consume,
      {
        ...this.names(),
        stream: this.stream,
        credit: this.credit,
        heartbeatMs: this.heartbeatMs,
        ...this.startPosition(),
      },
      {
        next: (frame) => {
          this.lastHeardAt = Date.now();
          if (frame.type === 'started') {
            started = true;
            this.backoff.reset();
            this.sentPosition = frame.startOffset;
            if (this.unacked.length === 0) this.streamNext = frame.startOffset;
            this.events.started?.(frame.startOffset);
          } else if (frame.type === 'messages') {
            this.deliver(frame.messages, frame.nextOffset);
          }
        },
        error: (error) => this.lost(connection, error, started),
        complete: () =>
          this.lost(
            connection,
            new PubSubError(ErrorCodes.PeerUnavailable, 'the peer ended the stream'),
            started,
          ),
      },
    );
    this.heartbeatTimer = setInterval(() => this.heartbeat(connection), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private deliver(messages: PulledMessage[], nextOffset: number): void {
    // Before the handler runs: it may acknowledge at once, and then the
    // position is past this frame (offsets retention removed included).
    this.streamNext = Math.max(this.streamNext, nextOffset);
    for (const message of messages) {
      if (this.nextToHand !== undefined && message.offset < this.nextToHand) continue;
      this.nextToHand = message.offset + 1;
      this.unacked.push(message.offset);
      this.events.message({ topic: this.options.topic, ...message });
    }
    if (this.nextToHand === undefined || nextOffset > this.nextToHand) this.nextToHand = nextOffset;
    this.scheduleAck();
  }

  private names(): { topic: string; consumer?: string } {
    const { topic, consumer } = this.options;
    return consumer === undefined ? { topic } : { topic, consumer };
  }

  /**
   * Without a consumer the peer keeps nothing: after a reconnect the stream
   * starts after the last message handed over (what was not processed yet
   * is in this process already).
   */
  private startPosition(): { from?: StartPosition } {
    if (this.options.consumer === undefined && this.nextToHand !== undefined) {
      return { from: this.nextToHand };
    }
    return this.options.from === undefined ? {} : { from: this.options.from };
  }

  /** The position to acknowledge: the first message not processed, or where the stream goes on. */
  private position(): number {
    return this.unacked.length > 0 ? this.unacked[0] : this.streamNext;
  }

  /**
   * Acknowledgements go out in batches: at once when a quarter of the credit
   * is waiting for them, else within 10 ms, so a busy stream sends a few
   * acks per credit window instead of one per message.
   */
  private scheduleAck(): void {
    const connection = this.connection;
    if (!connection || this.sentPosition === undefined) return;
    const waiting = this.position() - this.sentPosition;
    if (waiting <= 0) return;
    if (waiting >= Math.max(1, this.credit / 4)) {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      void this.sendAck(connection).catch(() => undefined);
    } else {
      this.ackTimer ??= setTimeout(() => {
        this.ackTimer = undefined;
        void this.sendAck(connection).catch(() => undefined);
      }, 10);
    }
  }

  private async sendAck(connection: RpcConnection): Promise<void> {
    const nextOffset = this.position();
    if (this.sentPosition === undefined || nextOffset <= this.sentPosition) return;
    this.sentPosition = nextOffset;
    this.lastSentAt = Date.now();
    await connection.request(PeerStreamPatterns.ConsumeAck, {
      ...this.names(),
      stream: this.stream,
      nextOffset,
    });
  }

  private heartbeat(connection: RpcConnection): void {
    if (connection !== this.connection) return;
    const now = Date.now();
    if (now - this.lastHeardAt > this.heartbeatMs * CONSUME_HEARTBEATS_MISSED) {
      this.lost(
        connection,
        new PubSubError(
          ErrorCodes.PeerUnavailable,
          `no word from ${connection.address} on the stream for ${now - this.lastHeardAt} ms`,
        ),
        true,
      );
      return;
    }
    if (now - this.lastSentAt < this.heartbeatMs) return;
    this.lastSentAt = now;
    connection
      .request(PeerStreamPatterns.ConsumeAck, { ...this.names(), stream: this.stream })
      .catch(() => undefined);
  }

  /** The stream on `connection` is over: close it and, unless told not to, connect again. */
  private lost(connection: RpcConnection, error: PubSubError, wasStarted: boolean): void {
    if (connection !== this.connection) return;
    this.connection = undefined;
    this.stopStream?.();
    this.stopStream = undefined;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.sentPosition = undefined;
    void connection.close();
    if (this.closed) return;
    const willRetry = !FATAL.has(error.code);
    this.events.error?.(error, willRetry);
    if (!willRetry) return;
    // A stream that had started was working: start over from the shortest wait.
    if (wasStarted) this.backoff.reset();
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.next());
  }
}
