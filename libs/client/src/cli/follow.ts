import { ErrorCodes, PubSubError, PulledMessage, StartPosition } from '@p2p-pubsub/protocol';
import type { PeerClient } from '../peer-client';

export interface FollowOptions {
  /** A named consumer on the peer: its position is kept there, and resumed next time. */
  consumer?: string;
  /** Without a consumer: where to start. `latest` (default), `earliest` or an offset. */
  from?: StartPosition;
  /** How long one long poll waits on the peer. */
  waitMs: number;
  /** Stop after this many messages; a named consumer is never moved past them. */
  count?: number;
}

/**
 * Follows `topic` on `peer` until `signal` aborts or `count` messages came,
 * handing each message to `onMessage` in offset order. With a
 * consumer, the peer keeps the position; without one, the position lives
 * here and nothing is left on the peer. A peer that neither hosts nor
 * subscribes to the topic is subscribed first (`onSubscribed` is told).
 */
export async function follow(
  peer: PeerClient,
  topic: string,
  options: FollowOptions,
  onMessage: (message: PulledMessage) => void,
  signal: AbortSignal,
  onSubscribed: () => void = () => undefined,
): Promise<void> {
  let subscribed = false;
  const subscribe = async () => {
    await peer.subscribe(topic, options.from ?? 'latest');
    subscribed = true;
    onSubscribed();
  };
  /** The offset the next message will have, subscribing the peer when it has no copy. */
  const endOffset = async (): Promise<number> => {
    const find = async () => {
      const { hosted, subscribed: replicas } = await peer.listTopics();
      return [...hosted, ...replicas].find((entry) => entry.topic === topic)?.nextOffset;
    };
    const held = (await find()) ?? (await subscribe().then(find));
    if (held === undefined) {
      throw new PubSubError(ErrorCodes.NotSubscribed, `'${topic}' is not held by ${peer.address}`);
    }
    return held;
  };
  const startOffset = async (): Promise<number> => {
    const from = options.from ?? 'latest';
    if (from === 'latest') return endOffset();
    if (from === 'earliest') return 0;
    return from;
  };

  // A long poll parked on the peer ends at once when the connection closes.
  const stop = () => void peer.close();
  signal.addEventListener('abort', stop, { once: true });
  try {
    let next = options.consumer === undefined ? await startOffset() : undefined;
    let left = options.count ?? Infinity;
    while (!signal.aborted && left > 0) {
      let reply;
      try {
        reply = await peer.pull(topic, {
          ...(options.consumer !== undefined
            ? { consumer: options.consumer }
            : { fromOffset: next }),
          max: Math.min(1000, left),
          waitMs: options.waitMs,
        });
      } catch (error) {
        if (signal.aborted) return;
        const unheld = error instanceof PubSubError && error.code === ErrorCodes.NotSubscribed;
        if (!unheld || subscribed) throw error;
        await subscribe();
        continue;
      }
      for (const message of reply.messages) onMessage(message);
      left -= reply.messages.length;
      next = reply.nextOffset;
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
