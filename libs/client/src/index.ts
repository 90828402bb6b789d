export * from './address';
export * from './backoff';
export * from './rpc-connection';
export * from './peer-client';
export * from './indexer-client';
export * from './live-consumer';
export { ErrorCodes, PubSubError, isUnsent } from '@p2p-pubsub/protocol';
export type * from '@p2p-pubsub/protocol';
export * from './tls';
