import { ClientTCP } from '@nestjs/microservices';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  ErrorCodes,
  PeerUnavailableError,
  PubSubError,
  isErrorReply,
} from '@app/protocol';
import { WireLimits, coalesceWrites, createWireSocketClass, wireLimitsFor } from '@app/transport';
import { EmptyError, TimeoutError } from 'rxjs';

export interface ConnectionOptions {
  host: string;
  port: number;
  /** A request with no reply after this long fails with PEER_UNAVAILABLE. */
  requestTimeoutMs?: number;
  /** Frame limits; defaults fit the default 1 MiB message limit. */
  limits?: WireLimits;
  /**
   * Bytes of requests allowed in flight on the one socket. Nest's JSON socket
   * stops reading while its own writes are backed up, so two ends pushing many
   * large frames at each other can both stop reading and deadlock. Requests
   * past this budget wait their turn instead.
   */
  maxInFlightBytes?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;

/**
 * One long-lived TCP connection to a peer or the indexer, over Nest's
 * ClientTCP. Concurrent requests share the socket; a closed socket is
 * reopened by the next request. Every failure comes out as a PubSubError:
 * the server's own error reply with its code, or PEER_UNAVAILABLE when the
 * other end cannot be reached or does not answer in time.
 */
export class RpcConnection {
  readonly address: string;
  private readonly client: ClientTCP;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlightBytes: number;
  private inFlightBytes = 0;
  private readonly waiting: Array<() => void> = [];
  /**
   * Set when the far end closed the connection (its process died, say) and
   * Nest has not torn the socket down yet: a request written now would fail
   * as if it might have reached the peer. The next request opens a new
   * connection instead, so a peer that is down is reported as refused.
   */
  private remoteEnded = false;
  private readonly onRemoteEnd = () => {
    this.remoteEnded = true;
  };

  constructor(options: ConnectionOptions) {
    this.address = `${options.host}:${options.port}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.maxInFlightBytes = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
    this.client = new ClientTCP({
      host: options.host,
      port: options.port,
      socketClass: coalesceWrites(
        createWireSocketClass(options.limits ?? wireLimitsFor(DEFAULT_MAX_MESSAGE_BYTES)),
      ),
    });
    this.client.on('end', this.onRemoteEnd);
  }

  /**
   * Sends one request and resolves with its reply. `weightBytes` is the
   * request's rough size, counted against the in-flight budget.
   */
  async request<T>(pattern: string, data: unknown, weightBytes = 0): Promise<T> {
    if (weightBytes > 0) await this.acquire(weightBytes);
    if (this.remoteEnded) {
      this.remoteEnded = false;
      // close() also drops the listeners it was given: give ours back.
      await this.client.close();
      this.client.on('end', this.onRemoteEnd);
    }
    try {
      return await this.firstReply<T>(pattern, data);
    } catch (error) {
      throw this.toPubSubError(error);
    } finally {
      if (weightBytes > 0) this.release(weightBytes);
    }
  }

  /**
   * The first value of Nest's reply stream, or TimeoutError after
   * requestTimeoutMs. Written out rather than as rxjs's firstValueFrom and
   * timeout(), whose scheduler costs a timer action per request: +12% at 128
   * in flight in `npm run bench`. No error is built on the normal path
   * (capturing a stack is the dearest thing a request could do here).
   */
  private firstReply<T>(pattern: string, data: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let replied = false;
      const timer = setTimeout(() => {
        subscription.unsubscribe();
        reject(new TimeoutError());
      }, this.requestTimeoutMs);
      const subscription = this.client.send<T>(pattern, data).subscribe({
        // Nest completes the stream right after the reply, which releases it.
        next: (reply) => {
          replied = true;
          clearTimeout(timer);
          resolve(reply);
        },
        error: (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
        complete: () => {
          clearTimeout(timer);
          if (!replied) reject(new EmptyError());
        },
      });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private toPubSubError(error: unknown): PubSubError {
    if (error instanceof PubSubError) return error;
    if (isErrorReply(error)) return PubSubError.fromReply(error);
    if (error instanceof TimeoutError) {
      return new PeerUnavailableError(this.address, `no reply within ${this.requestTimeoutMs} ms`);
    }
    // Nest's server refuses an unknown pattern with a bare string error.
    if (typeof error === 'string') {
      const code = error.includes('no matching message handler') ? ErrorCodes.UnknownCommand : ErrorCodes.Internal;
      return new PubSubError(code, error);
    }
    const message = error instanceof Error ? error.message : String(error);
    // Refused means nothing was sent: the caller may retry without risking a duplicate.
    const refused = (error as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
    return new PeerUnavailableError(this.address, message, refused ? { unsent: true } : undefined);
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
