import { Module } from '@nestjs/common';
import { ConsumersModule } from '../consumers/consumers.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { LinksModule } from '../links/links.module';
import { LogModule } from '../log/log.module';
import { SubscriptionsModule } from '../subscriptions/subscriptions.module';
import { TopicsController } from './topics.controller';
import { TopicsService } from './topics.service';

/** Topics: the ones this peer hosts, and forwarding for the ones it does not. */
@Module({
  imports: [LogModule, LinksModule, DeliveryModule, SubscriptionsModule, ConsumersModule],
  controllers: [TopicsController],
  providers: [TopicsService],
})
export class TopicsModule {}
