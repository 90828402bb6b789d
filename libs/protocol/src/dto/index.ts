export * from './validators';
export * from './indexer.dto';
export * from './peer.dto';
