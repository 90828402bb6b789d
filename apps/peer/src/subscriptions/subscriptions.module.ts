import { Module } from '@nestjs/common';
import { ConsumersModule } from '../consumers/consumers.module';
import { LinksModule } from '../links/links.module';
import { LogModule } from '../log/log.module';
import { SubscriptionsController } from './subscriptions.controller';
import { SubscriptionsService } from './subscriptions.service';

/** Subscriptions: topics hosted elsewhere that this peer replicates. */
@Module({
  imports: [LogModule, LinksModule, ConsumersModule],
  controllers: [SubscriptionsController],
  providers: [SubscriptionsService],
  exports: [SubscriptionsService],
})
export class SubscriptionsModule {}
