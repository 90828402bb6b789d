import { Socket, connect as connectTcp, isIP } from 'net';
import { ConnectionOptions as TlsOptions, connect as connectTls } from 'tls';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ErrorCodes,
  PeerUnavailableError,
  PubSubError,
  TOKEN,
  isErrorReply,
} from '@p2p-pubsub/protocol';
import {
  FrameDecoder,
  ReplyPacket,
  TickCork,
  WireLimits,
  encodeFrame,
  wireLimitsFor,
} from '@p2p-pubsub/wire';

export interface ConnectionOptions {
  host: string;
  port: number;
  /** A request with no reply after this long fails with PEER_UNAVAILABLE. */
  requestTimeoutMs?: number;
  /** Frame limits; defaults fit the default 1 MiB message limit. */
  limits?: WireLimits;
  /**
   * Bytes of requests allowed in flight on the one socket. Two ends pushing
   * many large frames at each other can both stop reading and deadlock (see
   * the transport notes); requests past this budget wait their turn instead.
   */
  maxInFlightBytes?: number;
  /**
   * Connect with TLS (CA, client certificate, checkServerIdentity) instead
   * of plain TCP; see tlsFromFiles. A function is called at each connect,
   * so certificates reloaded meanwhile apply to the next connection.
   */
  tls?: TlsOptions | (() => TlsOptions);
  /**
   * With security on, a client without a certificate authenticates with a
   * token (sent with every request, over TLS); the permissions file names
   * the client it belongs to.
   */
  token?: string;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/** SNI carries host names only; an IP address is not sent (Node warns about one). */
function serverName(host: string): string | undefined {
  return isIP(host) ? undefined : host;
}
const DEFAULT_MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/** What a stream's consumer is told, in order: values, then an error or the end. */
export interface StreamObserver<T> {
  next(value: T): void;
  error(error: PubSubError): void;
  complete(): void;
}

interface Pending {
  /** Whether the request was written to a connected socket (it may have arrived). */
  sent: boolean;
  onReply(packet: ReplyPacket): void;
  onFailure(error: PubSubError): void;
}

/**
 * One long-lived connection to a peer or the indexer, speaking Nest's TCP
 * framing directly on a socket (no Nest on the client side: loading it costs
 * most of a second, which a command-line call cannot afford). Concurrent
 * requests share the socket, matched to replies by id; a closed socket is
 * reopened by the next request. Every failure comes out as a PubSubError:
 * the server's own error reply with its code, or PEER_UNAVAILABLE when the
 * other end cannot be reached or does not answer in time, with
 * `details.unsent` when the request certainly never left.
 */
export class RpcConnection {
  readonly address: string;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlightBytes: number;
  private readonly limits: WireLimits;
  private socket?: Socket;
  private connecting?: Promise<Socket>;
  private cork?: TickCork;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private inFlightBytes = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly options: ConnectionOptions) {
    this.address = `${options.host}:${options.port}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxInFlightBytes = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
    this.limits = options.limits ?? wireLimitsFor(DEFAULT_MAX_MESSAGE_BYTES);
  }

  /**
   * Sends one request and resolves with its reply. `weightBytes` is the
   * request's rough size, counted against the in-flight budget; `metadata`
   * travels beside the payload (Nest's packet metadata, read from the RPC
   * context on the server).
   */
  async request<T>(
    pattern: string,
    data: unknown,
    weightBytes = 0,
    metadata?: Record<string, unknown>,
  ): Promise<T> {
    if (weightBytes > 0) await this.acquire(weightBytes);
    try {
      return await new Promise<T>((resolve, reject) => {
        let settled = false;
        const finish = (error: PubSubError | undefined, value?: T) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.pending.delete(id);
          if (error) reject(error);
          else resolve(value as T);
        };
        const id = this.nextId++;
        const timer = setTimeout(
          () =>
            finish(
              new PeerUnavailableError(this.address, `no reply within ${this.requestTimeoutMs} ms`),
            ),
          this.requestTimeoutMs,
        );
        this.pending.set(id, {
          sent: false,
          onReply: (packet) => {
            if (packet.err !== undefined) finish(this.toPubSubError(packet));
            else if ('response' in packet) finish(undefined, packet.response as T);
            else if (packet.isDisposed)
              finish(new PubSubError(ErrorCodes.Internal, `${pattern}: the server sent no reply`));
          },
          onFailure: (error) => finish(error),
        });
        this.send(id, pattern, data, metadata);
      });
    } finally {
      if (weightBytes > 0) this.release(weightBytes);
    }
  }

  /**
   * Sends a request whose replies are a stream: every value is passed to
   * `observer.next` until the server ends it or it fails. There is no
   * overall timeout; the returned function stops listening (the server is
   * not told: a stream's pattern needs its own way to cancel).
   */
  stream<T>(pattern: string, data: unknown, observer: StreamObserver<T>): () => void {
    const id = this.nextId++;
    let ended = false;
    const end = () => {
      ended = true;
      this.pending.delete(id);
    };
    this.pending.set(id, {
      sent: false,
      onReply: (packet) => {
        if (ended) return;
        if (packet.err !== undefined) {
          end();
          observer.error(this.toPubSubError(packet));
          return;
        }
        if ('response' in packet) observer.next(packet.response as T);
        if (packet.isDisposed) {
          end();
          observer.complete();
        }
      },
      onFailure: (error) => {
        if (ended) return;
        end();
        observer.error(error);
      },
    });
    this.send(id, pattern, data);
    return end;
  }

  /**
   * Connects now instead of at the first request, and resolves once the
   * socket is open; a refused or failed connection rejects with
   * PEER_UNAVAILABLE (`details.unsent`: nothing was sent).
   */
  async open(): Promise<void> {
    if (this.socket) return;
    try {
      await this.connect();
    } catch (error) {
      throw new PeerUnavailableError(this.address, (error as Error).message, { unsent: true });
    }
  }

  /** Whether a socket is open to the far end right now. */
  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Fails whatever is waiting and closes the socket; a later request opens a new one. */
  async close(): Promise<void> {
    const socket = this.socket ?? (await this.connecting?.catch(() => undefined));
    this.socket = undefined;
    this.connecting = undefined;
    this.failPending('the connection was closed by this client', { includeUnsent: true });
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      // A far end that never answers our FIN does not hold the close up.
      setTimeout(() => socket.destroy(), 1_000).unref();
    });
  }

  private send(
    id: number,
    pattern: string,
    data: unknown,
    requestMetadata?: Record<string, unknown>,
  ): void {
    const { token } = this.options;
    const metadata = token === undefined ? requestMetadata : { ...requestMetadata, [TOKEN]: token };
    const frame = encodeFrame(
      metadata === undefined ? { pattern, data, id } : { pattern, data, id, metadata },
    );
    const write = (socket: Socket) => {
      const pending = this.pending.get(id);
      if (!pending) return;
      pending.sent = true;
      this.cork!.hold();
      socket.write(frame);
    };
    if (this.socket) {
      write(this.socket);
      return;
    }
    this.connect().then(write, (error: Error) =>
      this.pending.get(id)?.onFailure(
        // A connection that was never made carried nothing: safe to send again.
        new PeerUnavailableError(this.address, error.message, { unsent: true }),
      ),
    );
  }

  private connect(): Promise<Socket> {
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const { host, port } = this.options;
      const tls = typeof this.options.tls === 'function' ? this.options.tls() : this.options.tls;
      const socket = tls
        ? connectTls({ ...tls, host, port, servername: tls.servername ?? serverName(host) }, () =>
            ready(),
          )
        : connectTcp({ host, port }, () => ready());
      const ready = () => {
        clearTimeout(timer);
        socket.off('error', refused);
        socket.setNoDelay(true);
        this.attach(socket);
        resolve(socket);
      };
      const refused = (error: Error) => {
        clearTimeout(timer);
        this.connecting = undefined;
        socket.destroy();
        reject(error);
      };
      // A host that drops our SYNs would otherwise hold the connection
      // attempt (and everything queued behind it) for the OS's minutes.
      const timer = setTimeout(
        () => refused(new Error(`could not connect within ${this.requestTimeoutMs} ms`)),
        this.requestTimeoutMs,
      );
      socket.once('error', refused);
    });
    return this.connecting;
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.connecting = undefined;
    this.cork = new TickCork(socket);
    const decoder = new FrameDecoder(this.limits.maxFrameChars);
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const frame of frames) this.dispatch(socket, frame);
      if (error) this.lose(socket, `the far end's replies went out of step: ${error.message}`);
    });
    // The far end closing (its process died, say) fails what waits on it at
    // once, and the next request connects again instead of writing into a
    // socket that is going away.
    socket.on('end', () => this.lose(socket, 'the connection was closed by the far end'));
    socket.on('error', (error: Error) => this.lose(socket, error.message));
    socket.on('close', () => this.lose(socket, 'the connection was closed'));
  }

  private dispatch(socket: Socket, frame: string): void {
    let packet: ReplyPacket;
    try {
      packet = JSON.parse(frame) as ReplyPacket;
    } catch {
      this.lose(socket, 'the far end sent a frame that is not JSON');
      return;
    }
    const pending = typeof packet?.id === 'number' ? this.pending.get(packet.id) : undefined;
    pending?.onReply(packet);
  }

  /** The socket is gone: every request written to it fails (it may or may not have arrived). */
  private lose(socket: Socket, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    socket.destroy();
    this.failPending(reason, { includeUnsent: false });
  }

  /**
   * Fails the requests written to the socket and, when the connection is
   * being given up for good, those still waiting for it, which never left
   * this process and so may be sent again.
   */
  private failPending(reason: string, { includeUnsent }: { includeUnsent: boolean }): void {
    for (const pending of [...this.pending.values()]) {
      if (pending.sent) pending.onFailure(new PeerUnavailableError(this.address, reason));
      else if (includeUnsent)
        pending.onFailure(new PeerUnavailableError(this.address, reason, { unsent: true }));
    }
  }

  private toPubSubError(packet: ReplyPacket): PubSubError {
    const error = packet.err;
    if (isErrorReply(error)) return PubSubError.fromReply(error);
    // Nest's own server refuses an unknown pattern with a bare string.
    if (typeof error === 'string') {
      const code = error.includes('no matching message handler')
        ? ErrorCodes.UnknownCommand
        : ErrorCodes.Internal;
      return new PubSubError(code, error);
    }
    return new PubSubError(ErrorCodes.Internal, `unexpected error reply: ${JSON.stringify(error)}`);
  }

  private acquire(weight: number): Promise<void> {
    // A single request larger than the budget still goes, alone.
    if (this.inFlightBytes === 0 || this.inFlightBytes + weight <= this.maxInFlightBytes) {
      this.inFlightBytes += weight;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.inFlightBytes += weight;
        resolve();
      }),
    );
  }

  private release(weight: number): void {
    this.inFlightBytes -= weight;
    const next = this.waiting.shift();
    if (next) next();
  }
}
