import type { CustomTransportStrategy, MessageHandler } from '@nestjs/microservices';
// Deep path: the package's index would also load every other transport.
import { Server } from '@nestjs/microservices/server/server.js';
import { ErrorCodes, PubSubError, StartPosition } from '@p2p-pubsub/protocol';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { isObservable, lastValueFrom } from 'rxjs';
import { parseAddress } from '../address';
import { Backoff, sleep } from '../backoff';
import { ConsumedMessage, LiveConsumer } from '../live-consumer';
import { PeerClient } from '../peer-client';
import { ConnectionOptions } from '../rpc-connection';
import { DEFAULT_TIMEOUT_MS, PubSubClientOptions } from './pubsub-client.options';
import { PubSubContext } from './pubsub.context';

/** The transport id of PubSubServer: `@EventPattern('orders', PUBSUB_TRANSPORT)` binds to it alone. */
export const PUBSUB_TRANSPORT = Symbol('PUBSUB_TRANSPORT');

export interface PubSubServerOptions extends PubSubClientOptions {
  /**
   * The consumer name of this application on the peer: its position in
   * each topic is kept there, and a restart goes on from it. Instances
   * sharing a name share the position (run one per name).
   */
  consumer: string;
  /** Messages per topic delivered to this process and not yet handled, at most. Default 256. */
  credit?: number;
  /** Heartbeats of each topic's stream, both ways. Default 5000. */
  heartbeatMs?: number;
  /**
   * A handler that throws (or whose promise or Observable fails) is called
   * again this many times, after a jittered backoff (`retryBackoff`: 100 ms
   * doubling to 5 s). Default 3.
   */
  retries?: number;
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /**
   * Where a message goes once its retries are spent: published on this
   * topic (which must exist) as JSON `{topic, offset, publishedAt, message,
   * error}`. Without it the message is skipped, logged and counted
   * (`stats().skipped`). Either way the position moves past it.
   */
  deadLetterTopic?: string;
  /** Where the peer's subscription to a topic it does not hold yet starts. Default 'latest'. */
  subscribeFrom?: StartPosition;
}

export interface PubSubServerStats {
  /** Messages whose handler succeeded. */
  handled: number;
  /** Handler calls that failed (each retry counts). */
  failures: number;
  /** Messages given up on and skipped. */
  skipped: number;
  /** Messages given up on and published to the dead-letter topic. */
  deadLettered: number;
}

/**
 * A Nest transport strategy that feeds `@EventPattern(topic)` handlers from
 * a peer's topics:
 *
 *   NestFactory.createMicroservice(AppModule, {
 *     strategy: new PubSubServer({ peer: 'localhost:5556', consumer: 'billing' }),
 *   });
 *
 * On listen it subscribes the peer to every topic a handler names and opens
 * one `consume` stream per topic. Each handler gets its topic's messages in
 * offset order, one at a time, as they are published (the payload is the
 * message parsed as JSON, or the text itself when it is not JSON; the
 * PubSubContext has the rest). A message is acknowledged once its handler's
 * promise or Observable completes, so a crash before that means it is
 * delivered again: at least once. A failing handler is retried, then the
 * message is skipped or dead-lettered (see the options).
 */
export class PubSubServer extends Server implements CustomTransportStrategy {
  override transportId = PUBSUB_TRANSPORT;
  // Handler failures are ours to retry, count and log: Nest need not report them.
  override readonly propagatesEventHandlerErrors = true;
  private readonly peer: PeerClient;
  private readonly connectionOptions: ConnectionOptions;
  private readonly consumers: LiveConsumer[] = [];
  private readonly counters: PubSubServerStats = {
    handled: 0,
    failures: 0,
    skipped: 0,
    deadLettered: 0,
  };
  private closing = false;

  constructor(private readonly options: PubSubServerOptions) {
    super();
    const address = typeof options.peer === 'string' ? parseAddress(options.peer) : options.peer;
    this.connectionOptions = {
      ...address,
      requestTimeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      limits: wireLimitsFor(options.maxMessageBytes),
      tls: options.tls,
      token: options.token,
    };
    this.peer = new PeerClient(this.connectionOptions);
  }

  /**
   * A topic registered as that very string is found with one map lookup.
   * Nest's own lookup first tries JSON.parse on the pattern, which throws
   * for a plain topic name: a tenth of a subscriber's CPU at fan-out rates.
   */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  /** The topics handlers are registered for. */
  get topics(): string[] {
    return [...this.messageHandlers.keys()];
  }

  stats(): PubSubServerStats {
    return { ...this.counters };
  }

  /**
   * Subscribes the peer to every handler's topic and starts consuming them;
   * calls back once each topic's stream has started or failed once (a
   * failed one keeps trying in the background, logged).
   */
  listen(callback: (error?: unknown) => void): void {
    Promise.all(this.topics.map((topic) => this.follow(topic))).then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.consumers.map((consumer) => consumer.close()));
    await this.peer.close();
  }

  on(): void {
    throw new Error('PubSubServer has no events to listen to');
  }

  /** The PeerClient the strategy uses for subscriptions and dead letters. */
  unwrap<T = PeerClient>(): T {
    return this.peer as T;
  }

  /** Resolves once the topic's stream has started, or failed once (it keeps trying). */
  private follow(topic: string): Promise<void> {
    return new Promise<void>((settleFirst) => {
      this.subscribe(topic, settleFirst).then(
        () => this.consume(topic, settleFirst),
        (error: unknown) => {
          this.logger.error(`cannot subscribe to '${topic}': ${describe(error)}`);
          settleFirst();
        },
      );
    });
  }

  private consume(topic: string, settleFirst: () => void): void {
    if (this.closing) return settleFirst();
    const queue: ConsumedMessage[] = [];
    let draining = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      while (queue.length > 0 && !this.closing) {
        const message = queue.shift()!;
        if (await this.handle(topic, message)) consumer.ack(message.offset);
      }
      draining = false;
    };
    const consumer = new LiveConsumer(
      this.connectionOptions,
      {
        topic,
        consumer: this.options.consumer,
        credit: this.options.credit,
        heartbeatMs: this.options.heartbeatMs,
        retry: this.options.retry,
      },
      {
        message: (message) => {
          queue.push(message);
          void drain();
        },
        started: () => settleFirst(),
        error: (error, willRetry) => {
          settleFirst();
          this.logger.error(
            `consuming '${topic}' as '${this.options.consumer}' failed (${error.code}: ${error.message})` +
              (willRetry ? '; trying again' : '; giving up'),
          );
        },
      },
    );
    this.consumers.push(consumer);
    consumer.start();
  }

  /**
   * Subscribes the peer to `topic` (it may host it: that is fine too). A
   * topic that does not exist yet is tried again with backoff until it does.
   */
  private async subscribe(topic: string, onFirstFailure: () => void): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000 });
    for (;;) {
      try {
        await this.peer.subscribe(topic, this.options.subscribeFrom ?? 'latest');
        return;
      } catch (error) {
        if (this.closing) return;
        const code = error instanceof PubSubError ? error.code : ErrorCodes.Internal;
        if (code === ErrorCodes.ValidationFailed) throw error;
        if (backoff.attempts === 0) {
          onFirstFailure();
          this.logger.warn(
            `cannot subscribe to '${topic}' yet (${code}: ${(error as Error).message}); trying again`,
          );
        }
        await sleep(backoff.next());
      }
    }
  }

  /**
   * Runs the handler on one message until it succeeds or its retries are
   * spent. Returns whether the message may be acknowledged: not when the
   * server is closing with the handler still failing, so it comes again.
   */
  private async handle(topic: string, message: ConsumedMessage): Promise<boolean> {
    const handler = this.getHandlerByPattern(topic);
    if (!handler) return true;
    const retries = this.options.retries ?? 3;
    let backoff: Backoff | undefined;
    const payload = parsePayload(message.message);
    for (let attempt = 1; ; attempt++) {
      const context = new PubSubContext([
        topic,
        message.offset,
        message.publishedAt,
        message.message,
        attempt,
      ]);
      try {
        await this.run(handler, payload, context);
        this.counters.handled++;
        return true;
      } catch (error) {
        this.counters.failures++;
        if (this.closing) return false;
        if (attempt > retries) {
          await this.giveUp(message, error);
          return true;
        }
        backoff ??= new Backoff({
          initialMs: this.options.retryBackoff?.initialMs ?? 100,
          maxMs: this.options.retryBackoff?.maxMs ?? 5_000,
        });
        await sleep(backoff.next());
      }
    }
  }

  private async run(
    handler: MessageHandler,
    payload: unknown,
    context: PubSubContext,
  ): Promise<void> {
    const result: unknown = await handler(payload, context);
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }

  private async giveUp(message: ConsumedMessage, error: unknown): Promise<void> {
    const reason = describe(error);
    const where = `'${message.topic}' offset ${message.offset}`;
    const deadLetter = this.options.deadLetterTopic;
    if (deadLetter) {
      try {
        await this.peer.publish(deadLetter, JSON.stringify({ ...message, error: reason }));
        this.counters.deadLettered++;
        this.logger.error(`${where}: handler failed (${reason}); sent to '${deadLetter}'`);
        return;
      } catch (publishError) {
        this.logger.error(`${where}: could not dead-letter it: ${describe(publishError)}`);
      }
    }
    this.counters.skipped++;
    this.logger.error(`${where}: handler failed (${reason}); skipped`);
  }
}

/** JSON's literals and numbers: the texts besides objects, arrays and strings worth parsing. */
const JSON_SCALAR = /^\s*(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)\s*$/;

/**
 * A message that is JSON becomes its value; any other text is passed as it
 * is. Plain text is told apart before parsing: a failed JSON.parse throws,
 * and building the SyntaxError costs more than handing the message over.
 */
function parsePayload(message: string): unknown {
  const first = /\S/.exec(message)?.[0];
  if (first !== '{' && first !== '[' && first !== '"' && !JSON_SCALAR.test(message)) {
    return message;
  }
  try {
    return JSON.parse(message);
  } catch {
    return message;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
