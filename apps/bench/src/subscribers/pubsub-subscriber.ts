import 'reflect-metadata';
import { Controller, DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { PubSubServer } from '@p2p-pubsub/client/nest';
import { ReceiptReporter, report } from './receipt-reporter';
import { runSubscriber } from './subscriber-process';
import { PUBSUB_FAN_OUT_TOPIC, STALL_TOPIC } from './subscriber.constants';

@Controller()
class FanOutController {
  constructor(private readonly reporter: ReceiptReporter) {}

  @EventPattern(PUBSUB_FAN_OUT_TOPIC)
  receive(@Payload() message: string): void {
    this.reporter.received(message);
  }
}

/** A handler that never finishes: its consumer's credit must bound what piles up. */
@Controller()
class StalledController {
  @EventPattern<string>(STALL_TOPIC)
  receive(): Promise<void> {
    report({ type: 'received', latenciesMs: [0] });
    return new Promise(() => undefined);
  }
}

@Module({})
class SubscriberModule {
  static for(mode: string): DynamicModule {
    return {
      module: SubscriberModule,
      controllers: [mode === 'stall' ? StalledController : FanOutController],
      providers: [ReceiptReporter],
    };
  }
}

/**
 * One Nest application of the PubSubServer fan-out: a microservice whose
 * @EventPattern handler gets the topic through the transport strategy from
 * its own peer, as a user's would. Arguments: the peer (host:port), then
 * `fanout` or `stall`.
 */
const [peer, mode = 'fanout'] = process.argv.slice(2);
// listen() resolves once the topic's consume stream has started.
runSubscriber(() =>
  NestFactory.createMicroservice(SubscriberModule.for(mode), {
    strategy: new PubSubServer({ peer, consumer: 'bench', credit: 256 }),
    logger: ['error', 'warn'],
  }),
);
