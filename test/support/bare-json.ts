import { Socket, connect } from 'net';
import { ConnectionOptions, connect as connectTls } from 'tls';
import { DEADLINE_MS } from './deadline';

/**
 * What `echo "$line" | ncat host port` does: connect, send the input, half-close
 * (ncat shuts down its sending side at the end of stdin), then read until the
 * server closes the connection. Resolves with everything the server sent.
 */
export function ncat(port: number, input: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    socket.setEncoding('utf8');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no close from ${host}:${port} within ${DEADLINE_MS} ms; received ${JSON.stringify(received)}`,
        ),
      );
    }, DEADLINE_MS);
    socket.on('data', (text: string) => (received += text));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.end(input);
  });
}

/**
 * A client in the style of the original's scripts: one socket kept open,
 * JSON written as is (no newline unless the test adds one), each reply read
 * as one line.
 */
export class BareJsonClient {
  private received = '';
  private readonly lines: string[] = [];
  private wake?: () => void;
  private ended = false;
  private readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.received += text;
      let newline: number;
      while ((newline = this.received.indexOf('\n')) !== -1) {
        this.lines.push(this.received.slice(0, newline));
        this.received = this.received.slice(newline + 1);
      }
      this.wake?.();
    });
    // The server ending its side is what the tests observe, not errors.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<BareJsonClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        socket.off('error', reject);
        resolve(new BareJsonClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** The same over TLS (`ncat --ssl`): resolves once the handshake is done. */
  static connectTls(
    port: number,
    tls: ConnectionOptions,
    host = '127.0.0.1',
  ): Promise<BareJsonClient> {
    return new Promise((resolve, reject) => {
      const socket = connectTls({ ...tls, port, host }, () => {
        socket.off('error', reject);
        resolve(new BareJsonClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Writes text or a command object serialised as JSON, without a newline. */
  send(command: string | object): void {
    this.socket.write(typeof command === 'string' ? command : JSON.stringify(command));
  }

  /** Sends one command and reads its reply. */
  async request(command: string | object): Promise<any> {
    this.send(command);
    return this.nextReply();
  }

  /** The next reply line, parsed; fails if the server closes first. */
  async nextReply(): Promise<any> {
    const deadline = Date.now() + DEADLINE_MS;
    while (this.lines.length === 0) {
      if (this.ended)
        throw new Error(
          `connection closed before a reply; unterminated: ${JSON.stringify(this.received)}`,
        );
      if (Date.now() > deadline) throw new Error(`no reply line within ${DEADLINE_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now() + 1);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return JSON.parse(this.lines.shift()!);
  }

  /** Resolves once the server has closed the connection (rejects after the deadline). */
  async serverClosed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`server kept the connection open for ${DEADLINE_MS} ms`)),
        DEADLINE_MS,
      );
    });
    try {
      await Promise.race([this.closed, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Half-closes like the original's scripts did when done, and waits for the close. */
  async close(): Promise<void> {
    this.socket.end();
    await this.serverClosed();
  }

  get isClosed(): boolean {
    return this.ended;
  }
}
