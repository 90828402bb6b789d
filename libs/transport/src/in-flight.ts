import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  OnModuleDestroy,
} from '@nestjs/common';
import type { Server } from 'net';
import { Observable, finalize } from 'rxjs';

/** How long shutdown waits for requests in flight before closing sockets. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Counts requests being handled so shutdown can wait for them. On shutdown
 * the listener stops accepting first, requests in flight finish, and only
 * then does Nest destroy the remaining sockets.
 */
@Injectable()
export class InFlightRequests implements NestInterceptor, OnModuleDestroy {
  private count = 0;
  private idleWaiters: Array<() => void> = [];
  private server?: Server;

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.count++;
    return next.handle().pipe(finalize(() => this.release()));
  }

  attach(server: Server): void {
    this.server = server;
  }

  async onModuleDestroy(): Promise<void> {
    this.server?.close();
    await this.whenIdle(DRAIN_TIMEOUT_MS);
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private release(): void {
    this.count--;
    if (this.count === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((wake) => wake());
    }
  }
}
