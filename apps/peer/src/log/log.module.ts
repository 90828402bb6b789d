import { Module } from '@nestjs/common';
import { LogStore } from './log-store';

/** Log storage: every topic log this peer keeps, behind one TopicLog interface. */
@Module({
  providers: [LogStore],
  exports: [LogStore],
})
export class LogModule {}
