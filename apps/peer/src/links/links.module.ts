import { Module } from '@nestjs/common';
import { LogModule } from '../log/log.module';
import { IndexerLink } from './indexer-link';
import { PeerLinks } from './peer-links';

/** Connections out of this peer: to the indexer and to other peers. */
@Module({
  imports: [LogModule],
  providers: [IndexerLink, PeerLinks],
  exports: [IndexerLink, PeerLinks],
})
export class LinksModule {}
