import {
  ClaimResult,
  HeartbeatResult,
  IndexerPatterns,
  LookupResult,
  PeerListResult,
  RegisterResult,
  SuccessReply,
  TopicClaim,
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

  /**
   * `topics`: the topics the peer hosts, with the claims it hosts them under.
   * `opsPort`: where the peer serves health and metrics over HTTP, if it does.
   */
  register(
    host: string,
    port: number,
    topics?: TopicClaim[],
    opsPort?: number,
    lastIndexerId?: string,
  ): Promise<RegisterResult> {
    return this.connection.request(IndexerPatterns.Register, {
      host,
      port,
      ...(topics === undefined ? {} : { topics }),
      ...(opsPort === undefined ? {} : { opsPort }),
      ...(lastIndexerId === undefined ? {} : { lastIndexerId }),
    });
  }

  unregister(peerId: string): Promise<SuccessReply> {
    return this.connection.request(IndexerPatterns.Unregister, { peerId });
  }

  /** `topicsVersion`: of the last topic list received; the reply lists topics only if it changed. */
  heartbeat(peerId: string, topicsVersion?: number): Promise<HeartbeatResult> {
    return this.connection.request(
      IndexerPatterns.Heartbeat,
      topicsVersion === undefined ? { peerId } : { peerId, topicsVersion },
    );
  }

  lookup(topic: string): Promise<LookupResult> {
    return this.connection.request(IndexerPatterns.Lookup, { topic });
  }

  claimTopic(topic: string, peerId: string): Promise<ClaimResult> {
    return this.connection.request(IndexerPatterns.CreateTopic, { topic, peerId });
  }

  /** `epoch`: the claim to release; a newer claim of the name is refused with STALE_EPOCH. */
  releaseTopic(topic: string, peerId: string, epoch?: number): Promise<ClaimResult> {
    return this.connection.request(
      IndexerPatterns.DeleteTopic,
      epoch === undefined ? { topic, peerId } : { topic, peerId, epoch },
    );
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
