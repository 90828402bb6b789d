import {
  ConsumerListResult,
  AckResult,
  PeerPatterns,
  PeerTopicsResult,
  PublishResult,
  PullResult,
  StartPosition,
  SubscribeResult,
  TopicResult,
} from '@p2p-pubsub/protocol';
import { LiveConsumer, LiveConsumerEvents, LiveConsumerOptions } from './live-consumer';
import { ConnectionOptions, RpcConnection } from './rpc-connection';

export interface PullOptions {
  /** Named position on this peer; each consumer gets every message, at least once. */
  consumer?: string;
  /** At most this many messages (server default 100, maximum 1000). */
  max?: number;
  /** Read from this offset without moving the consumer's position. */
  fromOffset?: number;
  /** Wait up to this long for a message when none is pending. */
  waitMs?: number;
  /**
   * true (default): the consumer moves past the reply once it has reached
   * this client. false: it stays until `ack`, so pulling again returns the
   * same messages.
   */
  autoAck?: boolean;
}

export interface AckOptions {
  /** The consumer whose position moves (default `default`). */
  consumer?: string;
}

/**
 * What a user calls on a peer. Every method resolves with the success reply
 * or rejects with a PubSubError carrying the stable error `code`.
 *
 *   const peer = new PeerClient({ host: 'localhost', port: 5555 });
 *   await peer.createTopic('Sports');
 *   const { offset } = await peer.publish('Sports', 'Football match tonight!');
 */
export class PeerClient {
  private readonly connection: RpcConnection;

  constructor(private readonly options: ConnectionOptions) {
    this.connection = new RpcConnection(options);
  }

  get address(): string {
    return this.connection.address;
  }

  createTopic(topic: string): Promise<TopicResult> {
    return this.connection.request(PeerPatterns.CreateTopic, { topic });
  }

  deleteTopic(topic: string): Promise<TopicResult> {
    return this.connection.request(PeerPatterns.DeleteTopic, { topic });
  }

  subscribe(topic: string, from?: StartPosition): Promise<SubscribeResult> {
    return this.connection.request(
      PeerPatterns.Subscribe,
      from === undefined ? { topic } : { topic, from },
    );
  }

  unsubscribe(topic: string): Promise<TopicResult> {
    return this.connection.request(PeerPatterns.Unsubscribe, { topic });
  }

  publish(topic: string, message: string): Promise<PublishResult> {
    return this.connection.request(PeerPatterns.Publish, { topic, message }, message.length);
  }

  pull(topic: string, options: PullOptions = {}): Promise<PullResult> {
    return this.connection.request(PeerPatterns.Pull, { topic, ...options });
  }

  /**
   * Follows a topic live (the `consume` stream) on a connection of its own;
   * call `start()` on what it returns. See LiveConsumer.
   */
  consume(options: LiveConsumerOptions, events: LiveConsumerEvents): LiveConsumer {
    return new LiveConsumer(this.options, options, events);
  }

  /**
   * Marks everything below `nextOffset` (a pull reply's `nextOffset`) as
   * processed: the consumer's position moves there if it is behind.
   */
  ack(topic: string, nextOffset: number, options: AckOptions = {}): Promise<AckResult> {
    return this.connection.request(PeerPatterns.Ack, { topic, nextOffset, ...options });
  }

  listTopics(): Promise<PeerTopicsResult> {
    return this.connection.request(PeerPatterns.ListTopics, {});
  }

  /** Consumers and subscriber peers on this peer, with positions and lag (all topics, or one). */
  listConsumers(topic?: string): Promise<ConsumerListResult> {
    return this.connection.request(
      PeerPatterns.ListConsumers,
      topic === undefined ? {} : { topic },
    );
  }

  /** Sends any pattern as is; for tools and tests that probe the contract. */
  send<T>(pattern: string, data: unknown): Promise<T> {
    return this.connection.request(pattern, data);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
