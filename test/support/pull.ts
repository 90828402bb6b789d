import { PeerClient, PullOptions, PulledMessage } from '@p2p-pubsub/client';
import { waitFor } from './wait';

/**
 * Pulls `topic` as one consumer until it has received at least `count`
 * messages (polling with a deadline), and returns them in pull order.
 */
export async function pullUntil(
  client: PeerClient,
  topic: string,
  count: number,
  options: PullOptions & { timeoutMs?: number } = {},
): Promise<PulledMessage[]> {
  const { timeoutMs, ...pullOptions } = options;
  const received: PulledMessage[] = [];
  await waitFor(
    async () => {
      const reply = await client.pull(topic, { max: 1000, ...pullOptions });
      received.push(...reply.messages);
      return received.length >= count;
    },
    { timeoutMs, what: `${count} messages of '${topic}' on ${client.address}` },
  );
  return received;
}

/** Everything the peer holds for `topic`, read by offset without moving any consumer. */
export async function readLog(client: PeerClient, topic: string): Promise<PulledMessage[]> {
  const messages: PulledMessage[] = [];
  for (let fromOffset = 0; ;) {
    const reply = await client.pull(topic, { fromOffset, max: 1000 });
    if (reply.messages.length === 0) return messages;
    messages.push(...reply.messages);
    fromOffset = reply.nextOffset;
  }
}
