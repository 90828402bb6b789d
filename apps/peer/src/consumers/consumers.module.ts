import { Module } from '@nestjs/common';
import { LogModule } from '../log/log.module';
import { ConsumeController } from './consume.controller';
import { ConsumeService } from './consume.service';
import { ConsumersController } from './consumers.controller';
import { ConsumersService } from './consumers.service';

/** Consumers: local clients pulling, or consuming live, a topic this peer hosts or replicates. */
@Module({
  imports: [LogModule],
  controllers: [ConsumersController, ConsumeController],
  providers: [ConsumersService, ConsumeService],
  exports: [ConsumersService],
})
export class ConsumersModule {}
