import type { Address } from '../address';
import type { ConnectionOptions } from '../rpc-connection';

export interface PubSubClientOptions {
  /** The peer to talk to: `'localhost:5555'` or `{ host, port }`. */
  peer: string | Address;
  /**
   * Bound on every call, connection retries included: past it the call fails
   * with PEER_UNAVAILABLE. Default 5000.
   */
  timeoutMs?: number;
  /**
   * Retries of a refused connection (the peer is down or restarting): jittered
   * exponential backoff from `initialMs` doubling up to `maxMs`, within
   * `timeoutMs`. Default 50 ms to 1 s.
   */
  retry?: { initialMs?: number; maxMs?: number };
  /** The peer's MAX_MESSAGE_BYTES when it is not the default 1 MiB: sizes the frame limit. */
  maxMessageBytes?: number;
  /**
   * Connect with TLS (CA, client certificate, server name) instead of plain
   * TCP: `tlsFromFiles(...)` of `@p2p-pubsub/client`, or a function read at
   * each connection (certificates rotated on disk).
   */
  tls?: ConnectionOptions['tls'];
  /** With security on and no client certificate: the client's token (see the README's Security). */
  token?: string;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
