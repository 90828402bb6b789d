import { Module } from '@nestjs/common';
import { LogStore } from './log-store';
import { TopicLocks } from './topic-locks';

/**
 * Log storage: every topic log this peer keeps, behind one TopicLog
 * interface, and the per-topic locks its topics change under.
 */
@Module({
  providers: [LogStore, TopicLocks],
  exports: [LogStore, TopicLocks],
})
export class LogModule {}
