import type { JsonSocket } from '@nestjs/microservices';

// A mixin's base must be constructible with any arguments (TypeScript's rule).
type SocketClass = new (...args: any[]) => JsonSocket;

/**
 * Frames written together leave in one write: the socket is corked at the
 * first frame and uncorked on the next tick, after the promise
 * continuations already queued have run. The replies to a batch of requests
 * that arrived in one read (or a burst of requests issued together) then
 * cost one syscall instead of one each, and on loopback the syscall is most
 * of what a small request costs: +20-35% requests per second at 16 and 128
 * in flight in `npm run bench`. A lone frame is not held back by anything
 * but the code already queued to run.
 */
export function coalesceWrites<T extends SocketClass>(Base: T) {
  return class CoalescedWritesSocket extends Base {
    private corked = false;

    override sendMessage(
      message: unknown,
      callback?: (error?: unknown) => void,
    ): void {
      if (!this.corked) {
        this.corked = true;
        this.netSocket.cork();
        process.nextTick(() => {
          this.corked = false;
          this.netSocket.uncork();
        });
      }
      super.sendMessage(message, callback);
    }
  };
}
