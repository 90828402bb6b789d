import { Injectable } from '@nestjs/common';
import { parsePeerId } from '@p2p-pubsub/protocol';
import { ConfigError, Security, securitySources } from '@p2p-pubsub/server';
import type { PeerConfig } from './peer.config';

/**
 * How other peers reach this one. The port is known only once the listener
 * is bound (it may be configured as 0), so main sets it before anything
 * talks to the indexer.
 */
@Injectable()
export class PeerIdentity {
  port = 0;
  /** The HTTP ops port as bound; undefined when it is off. */
  opsPort?: number;

  constructor(readonly host: string) {}

  get peerId(): string {
    return `${this.host}:${this.port}`;
  }

  /**
   * With security on, the peer is who its certificate says (`host:port`),
   * never what it is told: the advertised host, if set, and the port must
   * agree with the certificate, or start-up fails naming both.
   */
  static of(config: PeerConfig, security: Security): PeerIdentity {
    const certified = security.identity;
    if (!certified) return new PeerIdentity(config.publicHost);
    const { host, port } = parsePeerId(certified.name)!;
    const cert = `the certificate in ${securitySources.tlsCert.env} names this peer ${certified.name}`;
    if (config.advertisedHost !== undefined && config.advertisedHost !== host) {
      throw new ConfigError(
        `Invalid configuration:\n  ADVERTISED_HOST (--advertised-host) = '${config.advertisedHost}': ${cert}; leave it unset or make them agree`,
      );
    }
    if (config.port !== port) {
      throw new ConfigError(
        `Invalid configuration:\n  PORT (--port) = '${config.port}': ${cert}; with security on a peer listens on its certificate's port`,
      );
    }
    const identity = new PeerIdentity(host);
    identity.port = port;
    return identity;
  }
}
