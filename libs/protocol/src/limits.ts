/** Defaults shared by servers and clients; each server may override them. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * A frame carries one message plus its envelope. JSON escaping can turn one
 * byte into six characters (\u0000), so a frame that may hold a whole message
 * must be allowed six times its byte limit; anything larger is refused before
 * it is buffered.
 */
export function maxFrameChars(maxMessageBytes: number): number {
  return maxMessageBytes * 6 + 64 * 1024;
}

export const DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_SEND_BUFFER_BYTES = 64 * 1024 * 1024;
