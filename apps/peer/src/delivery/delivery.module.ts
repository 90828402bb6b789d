import { Module } from '@nestjs/common';
import { LinksModule } from '../links/links.module';
import { LogModule } from '../log/log.module';
import { DeliveryController } from './delivery.controller';
import { DeliveryService } from './delivery.service';

/** Delivery: the host pushing its topics' logs to subscriber peers. */
@Module({
  imports: [LogModule, LinksModule],
  controllers: [DeliveryController],
  providers: [DeliveryService],
  exports: [DeliveryService],
})
export class DeliveryModule {}
