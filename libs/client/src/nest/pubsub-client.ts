import type { OnApplicationShutdown } from '@nestjs/common';
import type { ReadPacket, WritePacket } from '@nestjs/microservices';
// Deep path: the package's index would also load every transport's server
// and NestMicroservice, which a client never needs.
import { ClientProxy } from '@nestjs/microservices/client/client-proxy.js';
import {
  ErrorCodes,
  isUnsent,
  PeerPatterns,
  PubSubError,
  PublishResult,
  ValidationFailedError,
} from '@p2p-pubsub/protocol';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { Observable, throwError } from 'rxjs';
import { parseAddress } from '../address';
import { Backoff, sleep } from '../backoff';
import { RpcConnection } from '../rpc-connection';
import { DEFAULT_TIMEOUT_MS, PubSubClientOptions } from './pubsub-client.options';

export type PubSubClientStatus = 'connected' | 'disconnected';

/**
 * A Nest ClientProxy for a p2p-pubsub peer, on the same connection as
 * PeerClient (Nest's framing on one socket, no ClientTCP):
 *
 *   client.emit('orders', order)              publishes; objects travel as JSON
 *   client.send(PeerPatterns.Pull, {...})     any request pattern, one reply
 *
 * Every failure is a PubSubError with a code: the peer's own error reply,
 * VALIDATION_FAILED for a call that cannot be sent, and PEER_UNAVAILABLE for
 * a peer that refuses the connection past `timeoutMs` of retries or does not
 * answer within `timeoutMs`. Only a request that certainly never left (a
 * refused connection) is retried, so a publish is never sent twice by the
 * client itself.
 */
export class PubSubClient
  extends ClientProxy<Record<never, Function>, PubSubClientStatus>
  implements OnApplicationShutdown
{
  private readonly connection: RpcConnection;
  private readonly timeoutMs: number;

  constructor(private readonly options: PubSubClientOptions) {
    super();
    const { host, port } =
      typeof options.peer === 'string' ? parseAddress(options.peer) : options.peer;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.connection = new RpcConnection({
      host,
      port,
      requestTimeoutMs: this.timeoutMs,
      limits: wireLimitsFor(options.maxMessageBytes),
      tls: options.tls,
      token: options.token,
    });
  }

  /** The peer's address, `host:port`. */
  get address(): string {
    return this.connection.address;
  }

  /** Opens the connection, retrying a refused one with backoff for up to `timeoutMs`. */
  async connect(): Promise<RpcConnection> {
    if (this.connection.connected) return this.connection;
    await this.retryingUnsent(() => this.connection.open());
    this._status$.next('connected');
    return this.connection;
  }

  async close(): Promise<void> {
    await this.connection.close();
    this._status$.next('disconnected');
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** The underlying RpcConnection (for `stream()` and tools). */
  unwrap<T = RpcConnection>(): T {
    return this.connection as T;
  }

  override send<TResult = unknown, TInput = unknown>(
    pattern: unknown,
    data: TInput,
  ): Observable<TResult> {
    if (pattern === undefined || pattern === null || data === undefined || data === null) {
      return throwError(
        () => new ValidationFailedError('send() needs a pattern and a payload ({} for none)'),
      );
    }
    return super.send(pattern, data);
  }

  /** Publishes `data` on the topic `topic`; the Observable emits the PublishResult. */
  override emit<TResult = PublishResult, TInput = unknown>(
    topic: string,
    data: TInput,
  ): Observable<TResult> {
    if (typeof topic !== 'string' || data === undefined || data === null) {
      return throwError(() => new ValidationFailedError('emit() needs a topic name and a message'));
    }
    return super.emit(topic, data);
  }

  /** Calls `pattern` on the peer: what `send` does, as a promise. */
  request<T>(pattern: string, data: unknown, weightBytes = 0): Promise<T> {
    return this.retryingUnsent(() => this.connection.request<T>(pattern, data, weightBytes));
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    let cancelled = false;
    this.request(this.normalizePattern(packet.pattern), packet.data).then(
      (response) => {
        if (!cancelled) callback({ response, isDisposed: true });
      },
      (error: unknown) => {
        if (!cancelled) callback({ err: asPubSubError(error) });
      },
    );
    // Unsubscribing stops listening; the peer still answers, into nothing.
    return () => {
      cancelled = true;
    };
  }

  protected async dispatchEvent<T = PublishResult>(packet: ReadPacket): Promise<T> {
    const message = toMessage(packet.data);
    return this.request<T>(
      PeerPatterns.Publish,
      { topic: packet.pattern, message },
      message.length,
    ).catch((error: unknown) => {
      throw asPubSubError(error);
    });
  }

  /**
   * Runs `attempt` again while it fails with nothing sent (the connection
   * was refused), with jittered backoff, until `timeoutMs` is spent.
   */
  private async retryingUnsent<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    const backoff = new Backoff({
      initialMs: this.options.retry?.initialMs ?? 50,
      maxMs: this.options.retry?.maxMs ?? 1_000,
    });
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        const delayMs = backoff.next();
        if (!isUnsent(error) || Date.now() + delayMs >= deadline) {
          this._status$.next('disconnected');
          throw asPubSubError(error);
        }
        await sleep(delayMs);
      }
    }
  }
}

/** Strings travel as they are; anything else as its JSON text. */
function toMessage(data: unknown): string {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new ValidationFailedError(
      `the message cannot be sent as JSON: ${(error as Error).message}`,
    );
  }
  if (json === undefined) throw new ValidationFailedError('the message cannot be sent as JSON');
  return json;
}

function asPubSubError(error: unknown): PubSubError {
  if (error instanceof PubSubError) return error;
  return new PubSubError(
    ErrorCodes.Internal,
    error instanceof Error ? error.message : String(error),
  );
}
