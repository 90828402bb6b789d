// Guards against an indexer pattern that nobody decided the access of:
// with security on, a handler without @UserAccess or @ClusterMember would
// let any connection register, claim or release in another peer's name.
import 'reflect-metadata';
import { patternsWithoutAccessRule, Security } from '@p2p-pubsub/server';
import { loadIndexerConfig } from './indexer.config';
import { IndexerModule } from './indexer.module';

describe('the indexer', () => {
  it('says who may call each of its message patterns', () => {
    const config = loadIndexerConfig([], {});
    const module = IndexerModule.forRoot(config, Security.load(config, 'indexer'));
    expect(patternsWithoutAccessRule(module)).toEqual([]);
  });
});
