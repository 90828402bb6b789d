// Guards against a peer pattern that nobody decided the access of: with
// security on, a handler without @UserAccess or @ClusterMember would be
// open to any connection, as every peer.* pattern was before issue 12.
import 'reflect-metadata';
import { patternsWithoutAccessRule, Security } from '@p2p-pubsub/server';
import { loadPeerConfig } from './peer.config';
import { PeerModule } from './peer.module';

describe('the peer', () => {
  it('says who may call each of its message patterns', () => {
    const config = loadPeerConfig([], {});
    const module = PeerModule.forRoot(config, Security.load(config, 'peer'));
    expect(patternsWithoutAccessRule(module)).toEqual([]);
  });
});
