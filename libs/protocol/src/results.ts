/**
 * Success replies. Every one carries `status: 'success'` and a human message
 * in the style of the system this one replaces, plus typed fields.
 */
export interface SuccessReply {
  status: 'success';
  message: string;
}

export interface PeerAddress {
  peerId: string;
  host: string;
  port: number;
}

export interface RegisterResult extends SuccessReply {
  peerId: string;
  /** Topics now held for this peer at the indexer. */
  topics: string[];
}

export interface HeartbeatResult extends SuccessReply {
  peerId: string;
}

export interface LookupResult extends SuccessReply, PeerAddress {
  topic: string;
}

export interface ClaimResult extends SuccessReply {
  topic: string;
  peerId: string;
}

export interface TopicListResult extends SuccessReply {
  topics: Array<{ topic: string; peerId: string }>;
}

export interface PeerListResult extends SuccessReply {
  peers: Array<PeerAddress & { topics: string[]; lastSeenAt: number; opsPort?: number }>;
}

export interface TopicResult extends SuccessReply {
  topic: string;
}

export interface SubscribeResult extends SuccessReply {
  topic: string;
  hostPeer: string;
  /** The first offset this peer will receive. */
  startOffset: number;
}

export interface PublishResult extends SuccessReply {
  topic: string;
  offset: number;
}

export interface PulledMessage {
  offset: number;
  message: string;
  /** Milliseconds since the epoch, stamped by the host on append. */
  publishedAt: number;
}

export interface PullResult extends SuccessReply {
  topic: string;
  consumer: string;
  messages: PulledMessage[];
  /** The offset the next pull of this consumer starts from. */
  nextOffset: number;
  /**
   * Messages the consumer never saw because retention removed them before it
   * pulled; 0 when nothing was skipped.
   */
  skipped: number;
}

/** What a `consume` stream sends, in order: `started`, then messages and heartbeats. */
export type ConsumeFrame = ConsumeStarted | ConsumeMessages | ConsumeHeartbeat;

export interface ConsumeStarted {
  type: 'started';
  topic: string;
  /** Absent for a stream without a named consumer. */
  consumer?: string;
  /** Where the stream delivers from: the consumer's acknowledged position, or `from`. */
  startOffset: number;
  credit: number;
  heartbeatMs: number;
}

export interface ConsumeMessages {
  type: 'messages';
  messages: PulledMessage[];
  /** Where the stream goes on: past these messages and any offsets retention removed. */
  nextOffset: number;
  /** Offsets retention removed before they could be delivered. */
  skipped: number;
}

/** Sent when the stream has had nothing else to say for `heartbeatMs`. */
export interface ConsumeHeartbeat {
  type: 'heartbeat';
}

export interface ConsumeAckResult extends SuccessReply {
  topic: string;
  consumer?: string;
  /** The consumer's acknowledged position now (the acknowledged offset, without a consumer). */
  nextOffset: number;
}

export interface PeerTopicsResult extends SuccessReply {
  peerId: string;
  hosted: Array<{ topic: string; nextOffset: number; subscribers: string[] }>;
  subscribed: Array<{ topic: string; hostPeer: string; nextOffset: number }>;
}

/** Where a reader of one topic on this peer is, against the end it can read to. */
export interface ReaderPosition {
  topic: string;
  /** The next offset it gets. */
  nextOffset: number;
  /** The offset the next message will get (what can be read, for FSYNC=always: what is synced). */
  endOffset: number;
  /** endOffset - nextOffset: messages it has yet to get. */
  lag: number;
}

export interface ConsumerListResult extends SuccessReply {
  peerId: string;
  /** Named consumers pulling on this peer (hosted and subscribed topics). */
  consumers: Array<ReaderPosition & { consumer: string }>;
  /** Subscriber peers of the topics this peer hosts: where delivery to each stands. */
  subscribers: Array<ReaderPosition & { peerId: string; retries: number }>;
}

// ---- peer to peer ----------------------------------------------------------

export interface AddSubscriberResult extends SuccessReply {
  topic: string;
  startOffset: number;
}

export interface DeliverResult extends SuccessReply {
  topic: string;
  /** Highest offset the subscriber now holds; the host resumes after it. */
  ackedOffset: number;
}
