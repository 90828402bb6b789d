import { Socket, connect } from 'net';

/** A plain TCP connection for tests about the wire itself. */
export class RawConnection {
  readonly socket: Socket;
  private received = '';
  private closed = false;
  private readonly opened: Promise<void>;

  /** `localAddress`: another loopback address (127.0.0.2, ...) to connect from. */
  constructor(port: number, host = '127.0.0.1', localAddress?: string) {
    this.socket = connect({ port, host, localAddress });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (chunk: string) => (this.received += chunk));
    this.socket.on('close', () => (this.closed = true));
    this.socket.on('error', () => (this.closed = true));
    this.opened = new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  async write(data: string): Promise<void> {
    await this.opened;
    await new Promise<void>((resolve, reject) =>
      this.socket.write(data, (error) => (error ? reject(error) : resolve())),
    );
  }

  /** Everything received so far. */
  get text(): string {
    return this.received;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A request in Nest's TCP framing: `<length in UTF-16 units>#<json>`. */
export function nestFrame(packet: unknown): string {
  const json = JSON.stringify(packet);
  return `${json.length}#${json}`;
}

/** Parses every complete Nest frame in `text`. */
export function parseNestFrames(text: string): Array<Record<string, unknown>> {
  const frames: Array<Record<string, unknown>> = [];
  let rest = text;
  for (;;) {
    const hash = rest.indexOf('#');
    if (hash < 0) break;
    const length = Number(rest.slice(0, hash));
    const body = rest.slice(hash + 1, hash + 1 + length);
    if (body.length < length) break;
    frames.push(JSON.parse(body));
    rest = rest.slice(hash + 1 + length);
  }
  return frames;
}
