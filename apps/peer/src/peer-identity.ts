import { Injectable } from '@nestjs/common';

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
}
