import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { RpcConnection } from '@p2p-pubsub/client';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { PeerConfig } from '../peer.config';

/**
 * One long-lived connection per remote peer, opened on first use and reused
 * by every request to it (the system this replaces opened one per request).
 */
@Injectable()
export class PeerLinks implements OnApplicationShutdown {
  private readonly connections = new Map<string, RpcConnection>();

  constructor(@Inject(PeerConfig) private readonly config: PeerConfig) {}

  to(host: string, port: number): RpcConnection {
    const address = `${host}:${port}`;
    let connection = this.connections.get(address);
    if (!connection) {
      connection = new RpcConnection({
        host,
        port,
        requestTimeoutMs: this.config.requestTimeoutMs,
        limits: wireLimitsFor(this.config.maxMessageBytes),
      });
      this.connections.set(address, connection);
    }
    return connection;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
    this.connections.clear();
  }
}
