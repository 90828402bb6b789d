import { ErrorCodes, PubSubError, PulledMessage, StartPosition } from '@p2p-pubsub/protocol';
import type { PeerClient } from '../peer-client';

export interface FollowOptions {
  /** A named consumer on the peer: its position is kept there, and resumed next time. */
  consumer?: string;
  /** Where to start without a position: `latest` (default without a consumer), `earliest`, an offset. */
  from?: StartPosition;
  /** Stop after this many messages; a named consumer is never moved past them. */
  count?: number;
}

/** Stream failures that waiting will not mend: the topic is gone, or this client may not read it. */
const FINAL = new Set<string>([
  ErrorCodes.NotSubscribed,
  ErrorCodes.TopicNotFound,
  ErrorCodes.Forbidden,
  ErrorCodes.Unauthenticated,
]);

/**
 * Follows `topic` on `peer` through a live `consume` stream until `signal`
 * aborts or `count` messages came, handing each to `onMessage` in offset
 * order and acknowledging it once handed. A peer that neither hosts nor
 * subscribes to the topic is subscribed first (`onSubscribed` is told). A
 * peer that goes away is waited for: the stream resumes when it is back.
 */
export async function follow(
  peer: PeerClient,
  topic: string,
  options: FollowOptions,
  onMessage: (message: PulledMessage) => void,
  signal: AbortSignal,
  onSubscribed: () => void = () => undefined,
): Promise<void> {
  const { hosted, subscribed } = await peer.listTopics();
  if (![...hosted, ...subscribed].some((entry) => entry.topic === topic)) {
    await peer.subscribe(topic, options.from ?? 'latest');
    onSubscribed();
  }
  let left = options.count ?? Infinity;
  if (left <= 0 || signal.aborted) return;
  await new Promise<void>((resolve, reject) => {
    const live = peer.consume(
      {
        topic,
        consumer: options.consumer,
        from: options.from,
        credit: Math.min(256, left),
      },
      {
        message: (message) => {
          if (left <= 0) return;
          onMessage(message);
          live.ack(message.offset);
          if (--left === 0) finish();
        },
        error: (error, willRetry) => {
          if (!willRetry || FINAL.has(error.code)) finish(error);
        },
      },
    );
    let finished = false;
    const finish = (error?: PubSubError) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', stop);
      // Closing sends the last acknowledgement before the connection goes.
      live.close().then(() => (error ? reject(error) : resolve()), reject);
    };
    const stop = () => finish();
    signal.addEventListener('abort', stop, { once: true });
    live.start();
  });
}
