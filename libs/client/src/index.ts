export * from './rpc-connection';
export * from './peer-client';
export * from './indexer-client';
export { PubSubError, ErrorCodes } from '@app/protocol';
export type * from '@app/protocol/results';
