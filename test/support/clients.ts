import { IndexerClient, PeerClient } from '@p2p-pubsub/client';
import { DEADLINE_MS } from './deadline';

/**
 * Clients for the tests: a request is answered within the suite's deadline
 * or fails. The client's own default (5 s) is a production bound, which a
 * busy machine can exceed without anything being wrong.
 */
export function peerClient(port: number, host = '127.0.0.1'): PeerClient {
  return new PeerClient({ host, port, requestTimeoutMs: DEADLINE_MS });
}

export function indexerClient(port: number, host = '127.0.0.1'): IndexerClient {
  return new IndexerClient({ host, port, requestTimeoutMs: DEADLINE_MS });
}
