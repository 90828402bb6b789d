/**
 * Every message pattern the system speaks. Nothing outside this library
 * spells a pattern as a string literal.
 */
export const IndexerPatterns = {
  Register: 'register',
  Unregister: 'unregister',
  Heartbeat: 'heartbeat',
  Lookup: 'lookup',
  CreateTopic: 'create_topic',
  DeleteTopic: 'delete_topic',
  ListTopics: 'list_topics',
  ListPeers: 'list_peers',
} as const;

export const PeerPatterns = {
  CreateTopic: 'create_topic',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  Publish: 'publish',
  Pull: 'pull',
  Ack: 'ack',
  DeleteTopic: 'delete_topic',
  ListTopics: 'list_topics',
  /** Local consumers and (on a host) subscriber peers, with their positions and lag. */
  ListConsumers: 'list_consumers',
} as const;

/**
 * Live consumption: `consume` answers with a stream of ConsumeFrames and
 * `consume_ack` acknowledges what a stream delivered (and keeps it alive).
 * Nest's framing only: the bare JSON gateway has no streams.
 */
export const PeerStreamPatterns = {
  Consume: 'consume',
  ConsumeAck: 'consume_ack',
} as const;

/**
 * Patterns one peer sends another. They are not part of the user-facing
 * surface: the bare-JSON (ncat) gateway never dispatches to them.
 */
export const PeerInternalPatterns = {
  AddSubscriber: 'peer.add_subscriber',
  RemoveSubscriber: 'peer.remove_subscriber',
  Deliver: 'peer.deliver',
  TopicDeleted: 'peer.topic_deleted',
  /** A publish forwarded to the topic's host, naming the epoch it was looked up at. */
  Publish: 'peer.publish',
  /** A delete_topic forwarded to the topic's host, naming the epoch it was looked up at. */
  DeleteTopic: 'peer.delete_topic',
} as const;
