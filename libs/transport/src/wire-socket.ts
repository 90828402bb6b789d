import { JsonSocket } from '@nestjs/microservices';
import type { Socket } from 'net';
import { WireLimits } from './wire-limits';

/**
 * Nest's TCP server and client construct a custom `socketClass` as
 * `new socketClass(socket)` and silently drop their framing limits, so the
 * limits are baked into the class here instead. Each connection also gets
 * Nagle switched off: requests and replies are small and latency-bound.
 */
export function createWireSocketClass(limits: WireLimits) {
  return class WireSocket extends JsonSocket {
    constructor(socket: Socket) {
      super(socket, {
        maxBufferSize: limits.maxFrameChars,
        incompleteMessageTimeout: limits.incompleteMessageTimeoutMs,
        maxSendBufferSize: limits.maxSendBufferBytes,
      });
      socket.setNoDelay(true);
    }
  };
}

export type WireSocketClass = ReturnType<typeof createWireSocketClass>;
