import type { Socket } from 'net';
import { BareCommandTable } from '@app/protocol';
import { ReplyPacket } from './bare-command';
import { BareJsonSession } from './bare-json-session';
import { isJsonWhitespace } from './json-text-scanner';
import { WireLimits } from './wire-limits';
import { createWireSocketClass } from './wire-socket';

const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

/**
 * The socket class of our TCP servers: Nest's framed packets and the
 * original system's bare JSON commands on one port. A connection's first
 * non-blank byte decides once for its whole life: a digit starts a Nest
 * frame (`<length>#<json>`), which keeps Nest's own JSON socket with our
 * limits; anything else is bare JSON, handled by a BareJsonSession that
 * accepts only the commands of `bareCommands`.
 */
export function createServerWireSocketClass(limits: WireLimits, bareCommands: BareCommandTable) {
  const FramedWireSocket = createWireSocketClass(limits);
  return class ServerWireSocket extends FramedWireSocket {
    private framed = false;
    private bare?: BareJsonSession;

    constructor(socket: Socket) {
      super(socket);
      // `echo ... | ncat` half-closes right after its line. Nest's server
      // sockets are not half-open, so Node would end them on that FIN before
      // the reply is written; ending is decided on 'end' below instead.
      socket.allowHalfOpen = true;
      socket.on('end', () => {
        if (this.bare) this.bare.endOfInput();
        else socket.end();
      });
    }

    protected override handleData(data: Buffer | string): void {
      if (this.framed) return super.handleData(data);
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      if (this.bare) return this.bare.receive(chunk);
      let first = 0;
      while (first < chunk.length && isJsonWhitespace(chunk[first])) first++;
      // Blank so far: nothing to decide on, and nothing worth keeping.
      if (first === chunk.length) return;
      const rest = chunk.subarray(first);
      if (isDigit(rest[0])) {
        this.framed = true;
        super.handleData(rest);
      } else {
        this.bare = new BareJsonSession(this.socket, limits, bareCommands, (error, options) =>
          this.handleDataError(error, options),
        );
        this.bare.receive(rest);
      }
    }

    protected override handleSend(
      message: ReplyPacket,
      callback?: (error?: unknown) => void,
    ): void {
      if (this.bare) this.bare.reply(message, callback);
      else super.handleSend(message, callback);
    }
  };
}
