import { Inject, Injectable } from '@nestjs/common';
import { PeerConfig } from '../peer.config';
import { MemoryLog } from './memory-log';
import { LogRecord, TopicLog } from './topic-log';

/** `hosted`: this peer owns the topic. `replica`: a copy pushed by its host. */
export type LogRole = 'hosted' | 'replica';

export interface StoredTopic {
  role: LogRole;
  log: TopicLog;
}

type TopicListener = (topic: string) => void;

/**
 * Owns every topic log this peer keeps, hosted and replicated, and tells the
 * rest of the peer when a log grows (delivery, long polls) or goes away.
 */
@Injectable()
export class LogStore {
  private readonly topics = new Map<string, StoredTopic>();
  private readonly appendListeners: TopicListener[] = [];
  private readonly dropListeners: TopicListener[] = [];

  constructor(@Inject(PeerConfig) private readonly config: PeerConfig) {}

  get(topic: string): StoredTopic | undefined {
    return this.topics.get(topic);
  }

  topicsWithRole(role: LogRole): string[] {
    return [...this.topics].filter(([, stored]) => stored.role === role).map(([topic]) => topic);
  }

  open(topic: string, role: LogRole): TopicLog {
    const log = new MemoryLog({ maxMessages: this.config.retentionMessages });
    this.topics.set(topic, { role, log });
    return log;
  }

  /** Host side of publish: stamps the next offset and wakes delivery. */
  append(topic: string, log: TopicLog, message: string): LogRecord {
    const record = log.append(message, Date.now());
    this.emit(this.appendListeners, topic);
    return record;
  }

  /** Subscriber side of delivery: keeps new records, drops duplicates. */
  appendReplica(topic: string, log: TopicLog, records: LogRecord[]): void {
    let added = false;
    for (const record of records) added = log.appendReplica(record) || added;
    if (added) this.emit(this.appendListeners, topic);
  }

  async drop(topic: string): Promise<void> {
    const stored = this.topics.get(topic);
    if (!stored) return;
    this.topics.delete(topic);
    await stored.log.destroy();
    this.emit(this.dropListeners, topic);
  }

  onAppend(listener: TopicListener): void {
    this.appendListeners.push(listener);
  }

  onDrop(listener: TopicListener): void {
    this.dropListeners.push(listener);
  }

  private emit(listeners: TopicListener[], topic: string): void {
    for (const listener of listeners) listener(topic);
  }
}
