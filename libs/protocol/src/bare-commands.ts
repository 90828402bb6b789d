import { IndexerPatterns, PeerPatterns } from './patterns';

/**
 * The original system was driven by bare JSON objects such as
 * `{"command": "publish", "topic": "Sports", "message": "..."}` (ncat, small
 * scripts). Each table below says which of those commands a service accepts
 * and which message pattern handles it; anything not listed, in particular
 * every peer-to-peer pattern, is refused as UNKNOWN_COMMAND.
 */
export interface BareCommand {
  pattern: string;
  /** Turns the command's fields into the pattern's payload; as is when absent. */
  toPayload?: (fields: Record<string, unknown>) => Record<string, unknown>;
}

export type BareCommandTable = Readonly<Record<string, BareCommand>>;

/**
 * The original's peers named themselves by `host` and `port` at the indexer;
 * here the indexer names a peer `host:port` (see `register`), so the pair is
 * folded into that id. Anything else is passed on for validation to reject.
 */
function hostAndPortAsPeerId(fields: Record<string, unknown>): Record<string, unknown> {
  const { host, port, ...rest } = fields;
  if (typeof host !== 'string' || !Number.isInteger(port) || 'peerId' in fields) return fields;
  return { ...rest, peerId: `${host}:${port}` };
}

/** What a user (or the original's peer code) may send the indexer bare. */
export const IndexerBareCommands: BareCommandTable = {
  register_peer: { pattern: IndexerPatterns.Register },
  unregister_peer: { pattern: IndexerPatterns.Unregister, toPayload: hostAndPortAsPeerId },
  add_topic: { pattern: IndexerPatterns.CreateTopic, toPayload: hostAndPortAsPeerId },
  delete_topic: { pattern: IndexerPatterns.DeleteTopic, toPayload: hostAndPortAsPeerId },
  // The lookup reply carries `host` and `port`, the fields the original returned.
  query_topic: { pattern: IndexerPatterns.Lookup },
  lookup: { pattern: IndexerPatterns.Lookup },
  list_topics: { pattern: IndexerPatterns.ListTopics },
  list_peers: { pattern: IndexerPatterns.ListPeers },
};

/** The user-facing peer patterns; the original used the same names. */
export const PeerBareCommands: BareCommandTable = Object.fromEntries(
  Object.values(PeerPatterns).map((pattern) => [pattern, { pattern }]),
);
