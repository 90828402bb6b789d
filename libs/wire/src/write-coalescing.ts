import type { Socket } from 'net';

/**
 * Frames written in one tick leave in one write: the socket is corked at the
 * first frame and uncorked on the next tick, after the promise continuations
 * already queued have run. The replies to a batch of requests that arrived in
 * one read (or a burst of requests issued together) then cost one syscall
 * instead of one each, and on loopback the syscall is most of what a small
 * request costs (see the README's benchmark notes). A lone frame is held
 * back by nothing but the code already queued to run.
 */
export class TickCork {
  private corked = false;

  constructor(private readonly socket: Socket) {}

  /** Call before each write. */
  hold(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }
}
