/**
 * What a handler may learn about, and ask of, the connection its request
 * came on: whether the client is still there, and whether a reply reached
 * it. A handler gets it from its TcpContext with `clientConnectionOf`.
 */
export interface ClientConnection {
  /** False once the connection has closed: no reply can reach the client any more. */
  readonly open: boolean;

  /** Runs `listener` once when the connection closes; the returned function unregisters it. */
  onClose(listener: () => void): () => void;

  /**
   * Throws LIMIT_EXCEEDED when the replies this connection holds for its
   * client (queued, and announced with `trackReply`) have reached the
   * connection's bound: call it before producing a large reply.
   */
  assertReplyRoom(): void;

  /**
   * Announces that `reply`, the very object the handler is about to return,
   * will be sent on this connection, about `bytes` long (counted against the
   * bound until it is written). `settled(true)` runs once its bytes were
   * accepted by the operating system on the open connection; `settled(false)`
   * if the connection closed, or the write failed, before that.
   */
  trackReply(reply: object, bytes: number, settled: (handedOver: boolean) => void): void;
}

/** The connection a request came on: our server sockets are ClientConnections. */
export function clientConnectionOf(context: {
  getSocketRef(): unknown;
}): ClientConnection | undefined {
  const socket = context.getSocketRef();
  return isClientConnection(socket) ? socket : undefined;
}

function isClientConnection(value: unknown): value is ClientConnection {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ClientConnection).trackReply === 'function' &&
    typeof (value as ClientConnection).onClose === 'function'
  );
}
