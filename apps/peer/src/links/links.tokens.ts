import { RpcConnection } from '@p2p-pubsub/client';

/** The IndexerClient this peer talks to the indexer through (a fake in unit tests). */
export const INDEXER_CLIENT = Symbol('INDEXER_CLIENT');

/** Opens the connection to another peer; PeerLinks keeps one per address. */
export const PEER_CONNECTION_FACTORY = Symbol('PEER_CONNECTION_FACTORY');

export type PeerConnectionFactory = (
  host: string,
  port: number,
) => Pick<RpcConnection, 'request' | 'close'>;
