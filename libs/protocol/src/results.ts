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

/**
 * One claim of a topic at the indexer. Every claim (create_topic) mints an
 * epoch greater than any before it and a random incarnation id: the epoch
 * orders claims (a peer refuses requests naming an older one), the
 * incarnation names the log that claim started (offsets restart with it).
 */
export interface TopicClaim {
  topic: string;
  epoch: number;
  incarnation: string;
}

export interface RegisterResult extends SuccessReply {
  peerId: string;
  /**
   * How long the indexer keeps the peer without a heartbeat. The peer stops
   * serving its topics before that much time has passed since it sent its
   * last acknowledged heartbeat.
   */
  leaseMs: number;
  /** Names this run of the indexer: reported back at the next registration (`lastIndexerId`). */
  indexerId: string;
  /** Topics now held for this peer at the indexer, with their claims. */
  topics: TopicClaim[];
  /** Changes whenever the indexer's list of this peer's topics changes. */
  topicsVersion: number;
}

export interface HeartbeatResult extends SuccessReply {
  peerId: string;
  leaseMs: number;
  topicsVersion: number;
  /** Only when topicsVersion differs from the one the heartbeat named. */
  topics?: TopicClaim[];
}

export interface LookupResult extends SuccessReply, PeerAddress {
  topic: string;
  epoch: number;
  incarnation: string;
}

export interface ClaimResult extends SuccessReply, TopicClaim {
  peerId: string;
}

export interface TopicListResult extends SuccessReply {
  topics: Array<TopicClaim & { peerId: string }>;
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
  /** The incarnation of the topic this peer now follows. */
  incarnation: string;
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

/**
 * Told to a consumer once, by its first pull after the topic it read was
 * replaced by a new incarnation (created again after its host lost its data,
 * or created anew on another peer): offsets start again, so the consumer's
 * old position says nothing about the new log.
 */
export interface IncarnationReset {
  /** The incarnation the consumer had been reading. */
  previousIncarnation: string;
  /** Messages of that incarnation this peer held past the consumer's position, never pulled. */
  unread: number;
}

export interface PullResult extends SuccessReply {
  topic: string;
  consumer: string;
  /** The topic's incarnation these offsets belong to. */
  incarnation: string;
  /** Present when the consumer's previous pull was of another incarnation. */
  reset?: IncarnationReset;
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
  /** The topic's incarnation these offsets belong to. */
  incarnation: string;
  /** As in PullResult: the consumer last read another incarnation (told until it acknowledges). */
  reset?: IncarnationReset;
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

export interface AckResult extends SuccessReply {
  topic: string;
  consumer: string;
  /** The consumer's position now: where its next pull starts. */
  nextOffset: number;
}

export interface PeerTopicsResult extends SuccessReply {
  peerId: string;
  hosted: Array<{
    topic: string;
    epoch: number;
    incarnation: string;
    nextOffset: number;
    subscribers: string[];
  }>;
  subscribed: Array<{
    topic: string;
    hostPeer: string;
    epoch: number;
    incarnation: string;
    nextOffset: number;
  }>;
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
  epoch: number;
  incarnation: string;
  startOffset: number;
}

export interface DeliverResult extends SuccessReply {
  topic: string;
  /** Highest offset the subscriber now holds; the host resumes after it. */
  ackedOffset: number;
}
