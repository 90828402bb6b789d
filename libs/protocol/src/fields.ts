/**
 * Field rules that clients need without loading the DTO classes (and
 * class-validator with them); the DTOs in `./dto` apply them.
 */

/** Topic and consumer names: safe as file names, log keys and CLI arguments. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,255}$/;

/** Where a subscription starts: the next message, the oldest one held, or an offset. */
export type StartPosition = 'latest' | 'earliest' | number;

export const MAX_PULL_BATCH = 1000;
export const MAX_PULL_WAIT_MS = 60_000;
