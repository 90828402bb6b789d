import { Injectable } from '@nestjs/common';
import { ageOf } from '../clock';
import { SubscriberReport } from '../nats/nats-fan-out.constants';

/** Tells the bench (the parent process, over IPC). */
export function report(message: SubscriberReport): void {
  process.send!(message);
}

/**
 * Reports receipts to the bench in batches: one IPC message per turn of the
 * event loop rather than per message, so reporting costs a subscriber
 * process little next to receiving.
 */
@Injectable()
export class ReceiptReporter {
  private pending: number[] = [];
  private scheduled = false;

  /** A stamped message (see clock.ts) arrived. */
  received(message: string): void {
    this.pending.push(ageOf(message));
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      report({ type: 'received', latenciesMs: this.pending });
      this.pending = [];
    });
  }
}
