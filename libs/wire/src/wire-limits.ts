import {
  DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_SEND_BUFFER_BYTES,
  maxFrameChars,
} from '@p2p-pubsub/protocol';

/** Per-connection bounds: what one socket may make this process buffer. */
export interface WireLimits {
  /** Largest frame accepted, in UTF-16 characters (Nest counts that way). */
  maxFrameChars: number;
  /** A frame that stops arriving part-way is dropped after this long. */
  incompleteMessageTimeoutMs: number;
  /** Replies queued for a client that does not read, in bytes. */
  maxSendBufferBytes: number;
}

export function wireLimitsFor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES): WireLimits {
  return {
    maxFrameChars: maxFrameChars(maxMessageBytes),
    incompleteMessageTimeoutMs: DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
    maxSendBufferBytes: DEFAULT_MAX_SEND_BUFFER_BYTES,
  };
}
