import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { IndexerPatterns } from '@p2p-pubsub/protocol';
import {
  ClaimTopicDto,
  EmptyDto,
  HeartbeatDto,
  LookupDto,
  PeerIdDto,
  RegisterDto,
  ReleaseTopicDto,
} from '@p2p-pubsub/protocol/dto';
import { ClusterMember, UserAccess, hostAndPortFields, peerIdField } from '@p2p-pubsub/server';
import { RegistryService } from './registry.service';

/**
 * With security on, a peer registers, heartbeats, claims and releases only
 * as itself (the peer its certificate names); lookups and listings are open
 * to the cluster and to principals with an entry in the permissions file.
 */
@Controller()
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @MessagePattern(IndexerPatterns.Register)
  @ClusterMember(hostAndPortFields)
  register(@Payload() dto: RegisterDto) {
    return this.registry.register(dto);
  }

  @MessagePattern(IndexerPatterns.Unregister)
  @ClusterMember(peerIdField)
  unregister(@Payload() dto: PeerIdDto) {
    return this.registry.unregister(dto.peerId);
  }

  @MessagePattern(IndexerPatterns.Heartbeat)
  @ClusterMember(peerIdField)
  heartbeat(@Payload() dto: HeartbeatDto) {
    return this.registry.heartbeat(dto);
  }

  @MessagePattern(IndexerPatterns.Lookup)
  @UserAccess('read')
  lookup(@Payload() dto: LookupDto) {
    return this.registry.lookup(dto.topic);
  }

  @MessagePattern(IndexerPatterns.CreateTopic)
  @ClusterMember(peerIdField)
  createTopic(@Payload() dto: ClaimTopicDto) {
    return this.registry.claim(dto.topic, dto.peerId);
  }

  @MessagePattern(IndexerPatterns.DeleteTopic)
  @ClusterMember(peerIdField)
  deleteTopic(@Payload() dto: ReleaseTopicDto) {
    return this.registry.release(dto.topic, dto.peerId, dto.epoch);
  }

  @MessagePattern(IndexerPatterns.ListTopics)
  @UserAccess('read')
  listTopics(@Payload() _dto: EmptyDto) {
    return this.registry.listTopics();
  }

  @MessagePattern(IndexerPatterns.ListPeers)
  @UserAccess('read')
  listPeers(@Payload() _dto: EmptyDto) {
    return this.registry.listPeers();
  }
}
