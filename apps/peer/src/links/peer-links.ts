import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { PEER_CONNECTION_FACTORY } from './links.tokens';
import type { PeerConnectionFactory } from './links.tokens';

type PeerConnection = ReturnType<PeerConnectionFactory>;

/**
 * One long-lived connection per remote peer, opened on first use and reused
 * by every request to it (the system this replaces opened one per request).
 */
@Injectable()
export class PeerLinks implements OnApplicationShutdown {
  private readonly connections = new Map<string, PeerConnection>();

  constructor(@Inject(PEER_CONNECTION_FACTORY) private readonly connect: PeerConnectionFactory) {}

  to(host: string, port: number): PeerConnection {
    const address = `${host}:${port}`;
    let connection = this.connections.get(address);
    if (!connection) {
      connection = this.connect(host, port);
      this.connections.set(address, connection);
    }
    return connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
    this.connections.clear();
  }
}
