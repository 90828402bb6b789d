/** Offsets [start, end) one pull reply carries to a client, until the reply settles. */
export interface HandedOutRange {
  readonly start: number;
  readonly end: number;
  handedOver: boolean;
}

/**
 * One consumer's position on one topic while pull replies are on their way
 * to clients. Two positions, as Kafka's consumer keeps a fetch position
 * ahead of its committed offset:
 *
 * - `committed`: durable (the caller journals it); moves in offset order,
 *   only over ranges whose replies reached a client, or by an explicit ack.
 * - the delivery position: where the next pull reads. It moves as soon as
 *   a reply is produced, so pipelined pulls of one live client get
 *   successive batches, as they always did.
 *
 * A reply that did not reach its client rewinds the delivery position to
 * its first offset, and the replies produced after it no longer count for
 * the commit: their messages are handed out again. Duplicates therefore
 * happen only after a loss; nothing is skipped.
 */
export class ConsumerPosition {
  private readonly ranges: HandedOutRange[] = [];
  private delivered: number | undefined;

  /** `committed`: the journaled position, undefined for a consumer that never committed. */
  constructor(public committed: number | undefined) {
    this.delivered = committed;
  }

  /** Nothing on its way: the delivery position equals the committed one. */
  get idle(): boolean {
    return this.ranges.length === 0;
  }

  /** Where the next pull reads; a consumer that never read starts at `oldest`. */
  nextStart(oldest: number): number {
    return this.delivered ?? oldest;
  }

  /** A reply carries [start, end); the next pull reads from `end`. */
  handOut(start: number, end: number): HandedOutRange {
    const range: HandedOutRange = { start, end, handedOver: false };
    this.ranges.push(range);
    this.delivered = end;
    return range;
  }

  /**
   * The reply of `range` reached its client. Returns true when the committed
   * position moved (every range before it has reached a client too).
   */
  handedOver(range: HandedOutRange): boolean {
    if (!this.ranges.includes(range)) return false;
    range.handedOver = true;
    return this.commitHandedOver();
  }

  /** The reply of `range` did not reach its client: its messages go out again. */
  lost(range: HandedOutRange): void {
    const index = this.ranges.indexOf(range);
    if (index < 0) return;
    this.ranges.length = index;
    this.delivered =
      this.committed === undefined ? range.start : Math.max(range.start, this.committed);
  }

  /**
   * An explicit ack: everything below `nextOffset` is processed. Moves the
   * committed position forward only; returns false when it was already there.
   */
  acknowledge(nextOffset: number): boolean {
    if (this.committed !== undefined && nextOffset <= this.committed) return false;
    this.committed = nextOffset;
    while (this.ranges.length > 0 && this.ranges[0].end <= nextOffset) this.ranges.shift();
    if (this.delivered === undefined || this.delivered < nextOffset) this.delivered = nextOffset;
    this.commitHandedOver();
    return true;
  }

  /** Commits the leading ranges that reached their clients; true if the position moved. */
  private commitHandedOver(): boolean {
    let moved = false;
    while (this.ranges.length > 0 && this.ranges[0].handedOver) {
      const { end } = this.ranges.shift()!;
      if (this.committed === undefined || end > this.committed) {
        this.committed = end;
        moved = true;
      }
    }
    return moved;
  }
}
