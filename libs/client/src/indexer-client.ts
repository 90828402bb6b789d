import {
  ClaimResult,
  HeartbeatResult,
  IndexerPatterns,
  LookupResult,
  PeerListResult,
  RegisterResult,
  SuccessReply,
  TopicListResult,
} from '@p2p-pubsub/protocol';
import { ConnectionOptions, RpcConnection } from './rpc-connection';

/** What peers and operators call on the indexer. */
export class IndexerClient {
  private readonly connection: RpcConnection;

  constructor(options: ConnectionOptions) {
    this.connection = new RpcConnection(options);
  }

  get address(): string {
    return this.connection.address;
  }

  /** `opsPort`: where the peer serves health and metrics over HTTP, if it does. */
  register(
    host: string,
    port: number,
    topics?: string[],
    opsPort?: number,
  ): Promise<RegisterResult> {
    return this.connection.request(IndexerPatterns.Register, {
      host,
      port,
      ...(topics === undefined ? {} : { topics }),
      ...(opsPort === undefined ? {} : { opsPort }),
    });
  }

  unregister(peerId: string): Promise<SuccessReply> {
    return this.connection.request(IndexerPatterns.Unregister, { peerId });
  }

  heartbeat(peerId: string): Promise<HeartbeatResult> {
    return this.connection.request(IndexerPatterns.Heartbeat, { peerId });
  }

  lookup(topic: string): Promise<LookupResult> {
    return this.connection.request(IndexerPatterns.Lookup, { topic });
  }

  claimTopic(topic: string, peerId: string): Promise<ClaimResult> {
    return this.connection.request(IndexerPatterns.CreateTopic, { topic, peerId });
  }

  releaseTopic(topic: string, peerId: string): Promise<ClaimResult> {
    return this.connection.request(IndexerPatterns.DeleteTopic, { topic, peerId });
  }

  listTopics(): Promise<TopicListResult> {
    return this.connection.request(IndexerPatterns.ListTopics, {});
  }

  listPeers(): Promise<PeerListResult> {
    return this.connection.request(IndexerPatterns.ListPeers, {});
  }

  send<T>(pattern: string, data: unknown): Promise<T> {
    return this.connection.request(pattern, data);
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
