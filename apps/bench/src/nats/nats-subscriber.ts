import 'reflect-metadata';
import { Controller, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { LIFELINE_ENV, watchLifeline } from '@p2p-pubsub/launcher';
import { ageOf } from '../clock';
import { NATS_FAN_OUT_SUBJECT, SubscriberReport } from './nats-fan-out.constants';

/**
 * Reports receipts to the bench in batches: one IPC message per turn of the
 * event loop rather than per NATS message, so reporting costs the
 * subscriber little next to receiving.
 */
@Injectable()
class ReceiptReporter {
  private pending: number[] = [];
  private scheduled = false;

  received(latencyMs: number): void {
    this.pending.push(latencyMs);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      report({ type: 'received', latenciesMs: this.pending });
      this.pending = [];
    });
  }
}

@Controller()
class FanOutController {
  constructor(private readonly reporter: ReceiptReporter) {}

  @EventPattern(NATS_FAN_OUT_SUBJECT)
  receive(@Payload() message: string): void {
    this.reporter.received(ageOf(message));
  }
}

@Module({ controllers: [FanOutController], providers: [ReceiptReporter] })
class SubscriberModule {}

function report(message: SubscriberReport): void {
  process.send!(message);
}

/**
 * One subscriber of the Nest-over-NATS comparison: a Nest microservice on
 * the NATS transport with one event handler, what a NestJS user would write
 * for fan-out. Started by the bench with an IPC channel; the server's URL is
 * its only argument.
 */
async function main(): Promise<void> {
  watchLifeline(process.env[LIFELINE_ENV], () => process.kill(process.pid, 'SIGTERM'));
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(SubscriberModule, {
    transport: Transport.NATS,
    options: { servers: [process.argv[2]] },
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen();
  // The subscription is registered with the server once a flush returns,
  // so nothing the bench publishes after 'ready' can miss this subscriber.
  await app.unwrap<NatsConnection>().flush();
  report({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
