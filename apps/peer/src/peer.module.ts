import { DynamicModule, Global, Module } from '@nestjs/common';
import { Security, SecurityModule, ServiceModule } from '@p2p-pubsub/server';
import { ConsumersModule } from './consumers/consumers.module';
import { DeliveryModule } from './delivery/delivery.module';
import { LinksModule } from './links/links.module';
import { LogModule } from './log/log.module';
import { PeerOpsModule } from './ops/peer-ops.module';
import { TopicStats } from './ops/topic-stats';
import { PeerConfig } from './peer.config';
import { PeerIdentity } from './peer-identity';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { TopicsModule } from './topics/topics.module';

@Global()
@Module({})
export class PeerModule {
  static forRoot(config: PeerConfig, security: Security): DynamicModule {
    return {
      module: PeerModule,
      imports: [
        ServiceModule,
        SecurityModule.forRoot(security),
        LogModule,
        LinksModule,
        TopicsModule,
        SubscriptionsModule,
        DeliveryModule,
        ConsumersModule,
        PeerOpsModule,
      ],
      providers: [
        { provide: PeerConfig, useValue: config },
        { provide: PeerIdentity, useValue: PeerIdentity.of(config, security) },
        TopicStats,
      ],
      exports: [PeerConfig, PeerIdentity, TopicStats],
    };
  }
}
