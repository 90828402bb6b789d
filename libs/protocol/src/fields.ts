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

/** Messages a `consume` stream may have delivered and not yet had acknowledged. */
export const MAX_CONSUME_CREDIT = 10_000;
/** How often each end of a `consume` stream shows it is alive, unless asked otherwise. */
export const DEFAULT_CONSUME_HEARTBEAT_MS = 5_000;
/** A stream end that hears nothing for this many heartbeats takes the other for dead. */
export const CONSUME_HEARTBEATS_MISSED = 3;

/** A topic incarnation id, as the indexer mints them (16 hex digits). */
export const INCARNATION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
