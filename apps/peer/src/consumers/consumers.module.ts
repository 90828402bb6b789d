import { Module } from '@nestjs/common';
import { LogModule } from '../log/log.module';
import { ConsumersController } from './consumers.controller';
import { ConsumersService } from './consumers.service';

/** Consumers: local clients pulling a topic this peer hosts or replicates. */
@Module({
  imports: [LogModule],
  controllers: [ConsumersController],
  providers: [ConsumersService],
  exports: [ConsumersService],
})
export class ConsumersModule {}
