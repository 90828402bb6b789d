import { LogRecord, TopicLog, recordSize } from './topic-log';

export interface RetentionPolicy {
  /** Records kept before the oldest are trimmed. */
  maxMessages: number;
}

/** A TopicLog held in memory, bounded by its retention policy. */
export class MemoryLog implements TopicLog {
  private records: LogRecord[] = [];
  /** Index into `records` of the first live record; trimmed space is reclaimed lazily. */
  private head = 0;
  private next: number;
  private received = false;

  constructor(
    private readonly retention: RetentionPolicy,
    startOffset = 0,
  ) {
    this.next = startOffset;
  }

  get firstOffset(): number {
    return this.head < this.records.length ? this.records[this.head].offset : this.next;
  }

  get nextOffset(): number {
    return this.next;
  }

  get length(): number {
    return this.records.length - this.head;
  }

  append(message: string, publishedAt: number): LogRecord {
    const record = { offset: this.next, message, publishedAt };
    this.push(record);
    return record;
  }

  appendReplica(record: LogRecord): boolean {
    // Until the first record arrives a replica does not know where the host
    // starts it, so it takes the first offset it is given.
    if (this.received && record.offset < this.next) return false;
    this.received = true;
    this.push({ offset: record.offset, message: record.message, publishedAt: record.publishedAt });
    return true;
  }

  read(fromOffset: number, maxRecords: number, maxBytes: number): LogRecord[] {
    const out: LogRecord[] = [];
    let bytes = 0;
    for (let i = this.indexOf(fromOffset); i < this.records.length && out.length < maxRecords; i++) {
      const record = this.records[i];
      bytes += recordSize(record);
      if (bytes > maxBytes && out.length > 0) break;
      out.push(record);
    }
    return out;
  }

  trimBefore(offset: number): void {
    this.head = this.indexOf(offset);
    // Reclaim the array once the dead prefix dominates it.
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }

  async destroy(): Promise<void> {
    this.records = [];
    this.head = 0;
  }

  private push(record: LogRecord): void {
    this.records.push(record);
    this.next = record.offset + 1;
    if (this.length > this.retention.maxMessages) {
      this.trimBefore(this.records[this.records.length - this.retention.maxMessages].offset);
    }
  }

  /** Index of the first live record with offset >= `offset`. */
  private indexOf(offset: number): number {
    let low = this.head;
    let high = this.records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.records[mid].offset < offset) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
