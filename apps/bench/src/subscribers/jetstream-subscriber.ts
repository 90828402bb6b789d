import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CustomTransportStrategy, EventPattern, Payload, Server } from '@nestjs/microservices';
import { ConsumerMessages, jetstream } from '@nats-io/jetstream';
import { NatsConnection, connect } from '@nats-io/transport-node';
import { isObservable, lastValueFrom } from 'rxjs';
import { ReceiptReporter } from './receipt-reporter';
import { runSubscriber } from './subscriber-process';
import { JETSTREAM_STREAM, JETSTREAM_SUBJECT } from './subscriber.constants';

/**
 * The durable reference: what a Nest user would write for JetStream (Nest
 * has no JetStream transport). One durable pull consumer, messages handed to
 * the @EventPattern handler of their subject one at a time, each acked
 * explicitly once the handler is done: the same contract as PubSubServer.
 */
class JetStreamServer extends Server implements CustomTransportStrategy {
  private connection?: NatsConnection;
  private messages?: ConsumerMessages;

  constructor(
    private readonly url: string,
    private readonly durable: string,
  ) {
    super();
  }

  async listen(callback: () => void): Promise<void> {
    this.connection = await connect({ servers: this.url });
    const consumer = await jetstream(this.connection).consumers.get(JETSTREAM_STREAM, this.durable);
    this.messages = await consumer.consume({ max_messages: 256 });
    void (async () => {
      for await (const message of this.messages!) {
        const handler = this.getHandlerByPattern(message.subject);
        if (handler) {
          const result: unknown = await handler(message.string(), undefined);
          if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
        }
        message.ack();
      }
    })();
    callback();
  }

  async close(): Promise<void> {
    await this.messages?.close();
    await this.connection?.drain();
  }

  on(): void {}

  unwrap<T>(): T {
    return this.connection as T;
  }
}

@Controller()
class FanOutController {
  constructor(private readonly reporter: ReceiptReporter) {}

  @EventPattern(JETSTREAM_SUBJECT)
  receive(@Payload() message: string): void {
    this.reporter.received(message);
  }
}

@Module({ controllers: [FanOutController], providers: [ReceiptReporter] })
class SubscriberModule {}

/** One Nest application of the JetStream fan-out. Arguments: the server's URL, the durable consumer. */
const [url, durable] = process.argv.slice(2);
runSubscriber(() =>
  NestFactory.createMicroservice(SubscriberModule, {
    strategy: new JetStreamServer(url, durable),
    logger: ['error', 'warn'],
  }),
);
