import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { ReceiptReporter } from '../subscribers/receipt-reporter';
import { runSubscriber } from '../subscribers/subscriber-process';
import { NATS_FAN_OUT_SUBJECT } from './nats-fan-out.constants';

@Controller()
class FanOutController {
  constructor(private readonly reporter: ReceiptReporter) {}

  @EventPattern(NATS_FAN_OUT_SUBJECT)
  receive(@Payload() message: string): void {
    this.reporter.received(message);
  }
}

@Module({ controllers: [FanOutController], providers: [ReceiptReporter] })
class SubscriberModule {}

/**
 * One subscriber of the Nest-over-NATS comparison: a Nest microservice on
 * the NATS transport with one event handler, what a NestJS user would write
 * for fan-out. Started by the bench with an IPC channel; the server's URL is
 * its only argument.
 */
runSubscriber(
  () =>
    NestFactory.createMicroservice<MicroserviceOptions>(SubscriberModule, {
      transport: Transport.NATS,
      options: { servers: [process.argv[2]] },
      logger: ['error', 'warn'],
    }),
  // The subscription is registered with the server once a flush returns,
  // so nothing the bench publishes after 'ready' can miss this subscriber.
  (app) => app.unwrap<NatsConnection>().flush(),
);
