/**
 * Error codes are the stable part of an error reply; messages are for humans
 * and may change. Every failure a caller can see carries one of these.
 */
export const ErrorCodes = {
  ValidationFailed: 'VALIDATION_FAILED',
  TopicNotFound: 'TOPIC_NOT_FOUND',
  TopicExists: 'TOPIC_EXISTS',
  NotSubscribed: 'NOT_SUBSCRIBED',
  /** This peer does not host the topic now (or its lease at the indexer lapsed): nothing was done. */
  NotOwner: 'NOT_OWNER',
  /** The request names another claim (epoch) of the topic than this peer holds: nothing was done. */
  StaleEpoch: 'STALE_EPOCH',
  PeerUnavailable: 'PEER_UNAVAILABLE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  UnknownPeer: 'UNKNOWN_PEER',
  UnknownCommand: 'UNKNOWN_COMMAND',
  /** The disk is full: nothing was stored, and writes resume once space returns. */
  StorageFull: 'STORAGE_FULL',
  /** The disk failed a read or write (EIO, a read-only file system): nothing was stored. */
  StorageError: 'STORAGE_ERROR',
  /** A configured bound was reached (topics, connections, requests in flight, open files). */
  LimitExceeded: 'LIMIT_EXCEEDED',
  /** The request carries no identity the server accepts. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** The caller's identity may not do this. */
  Forbidden: 'FORBIDDEN',
  Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The one shape every failure has on the wire. */
export interface ErrorReply {
  status: 'error';
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export function isErrorReply(value: unknown): value is ErrorReply {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as ErrorReply).status === 'error' &&
    typeof (value as ErrorReply).code === 'string' &&
    typeof (value as ErrorReply).message === 'string'
  );
}

/**
 * Base class of every domain error. Servers throw it and one exception filter
 * turns it into an ErrorReply; clients rebuild it from an ErrorReply so callers
 * can branch on `code` (or `instanceof`) instead of parsing messages.
 */
export class PubSubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'PubSubError';
  }

  toReply(): ErrorReply {
    const reply: ErrorReply = {
      status: 'error',
      code: this.code,
      message: this.message,
    };
    if (this.details !== undefined) reply.details = this.details;
    return reply;
  }

  static fromReply(reply: ErrorReply): PubSubError {
    return new PubSubError(reply.code, reply.message, reply.details);
  }
}

export class ValidationFailedError extends PubSubError {
  constructor(message: string, details?: unknown) {
    super(ErrorCodes.ValidationFailed, message, details);
  }
}

export class TopicNotFoundError extends PubSubError {
  constructor(topic: string) {
    super(ErrorCodes.TopicNotFound, `Topic '${topic}' not found`);
  }
}

export class TopicExistsError extends PubSubError {
  constructor(topic: string, hostPeer?: string) {
    super(
      ErrorCodes.TopicExists,
      hostPeer
        ? `Topic '${topic}' already exists on peer ${hostPeer}`
        : `Topic '${topic}' already exists`,
    );
  }
}

export class NotSubscribedError extends PubSubError {
  constructor(topic: string) {
    super(ErrorCodes.NotSubscribed, `This peer neither hosts nor subscribes to topic '${topic}'`);
  }
}

export class NotOwnerError extends PubSubError {
  constructor(topic: string, peerId: string, reason?: string) {
    super(
      ErrorCodes.NotOwner,
      `Peer ${peerId} does not host topic '${topic}'${reason ? `: ${reason}` : ''}`,
    );
  }
}

export class StaleEpochError extends PubSubError {
  constructor(topic: string, theirs: number, ours: number) {
    super(
      ErrorCodes.StaleEpoch,
      `Topic '${topic}': the request is for epoch ${theirs}, this peer holds epoch ${ours}`,
      { epoch: ours },
    );
  }
}

export interface PeerUnavailableDetails {
  /**
   * True when the request certainly never reached the peer (the connection
   * was refused), so sending it again cannot apply it twice.
   */
  unsent: boolean;
}

export class PeerUnavailableError extends PubSubError {
  constructor(peer: string, reason: string, details?: PeerUnavailableDetails) {
    super(ErrorCodes.PeerUnavailable, `Peer ${peer} is unavailable: ${reason}`, details);
  }
}

/** Whether `error` says the request never left: safe to retry a publish. */
export function isUnsent(error: unknown): boolean {
  return (
    error instanceof PubSubError &&
    error.code === ErrorCodes.PeerUnavailable &&
    (error.details as PeerUnavailableDetails | undefined)?.unsent === true
  );
}

export class PayloadTooLargeError extends PubSubError {
  constructor(sizeBytes: number, limitBytes: number) {
    super(
      ErrorCodes.PayloadTooLarge,
      `Message is ${sizeBytes} bytes; the limit is ${limitBytes} bytes`,
      { sizeBytes, limitBytes },
    );
  }
}

export class UnknownPeerError extends PubSubError {
  constructor(peerId: string) {
    super(ErrorCodes.UnknownPeer, `Peer ${peerId} is not registered`);
  }
}

export class UnauthenticatedError extends PubSubError {
  constructor(reason: string) {
    super(ErrorCodes.Unauthenticated, `Not authenticated: ${reason}`);
  }
}

export class ForbiddenError extends PubSubError {
  constructor(message: string) {
    super(ErrorCodes.Forbidden, message);
  }
}

export class StorageFullError extends PubSubError {
  constructor(message: string) {
    super(ErrorCodes.StorageFull, message);
  }
}

export class StorageError extends PubSubError {
  constructor(message: string) {
    super(ErrorCodes.StorageError, message);
  }
}

/** A configured bound was reached; `details.limit` names the setting. */
export class LimitExceededError extends PubSubError {
  constructor(message: string, details?: { limit: string }) {
    super(ErrorCodes.LimitExceeded, message, details);
  }
}
