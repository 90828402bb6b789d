import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerInternalPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import type { Principal } from '@p2p-pubsub/protocol';
import {
  EmptyDto,
  ForwardedPublishDto,
  PublishDto,
  TopicDto,
  TopicEpochDto,
} from '@p2p-pubsub/protocol/dto';
import { Caller, ClusterMember, UserAccess } from '@p2p-pubsub/server';
import { TopicsService } from './topics.service';

@Controller()
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @MessagePattern(PeerPatterns.CreateTopic)
  @UserAccess('create')
  create(@Payload() dto: TopicDto, @Caller() caller?: Principal) {
    return this.topics.create(dto.topic, caller);
  }

  @MessagePattern(PeerPatterns.Publish)
  @UserAccess('publish')
  publish(@Payload() dto: PublishDto, @Caller() caller?: Principal) {
    return this.topics.publish(dto.topic, dto.message, caller);
  }

  @MessagePattern(PeerPatterns.DeleteTopic)
  @UserAccess('delete')
  delete(@Payload() dto: TopicDto, @Caller() caller?: Principal) {
    return this.topics.delete(dto.topic, caller);
  }

  /**
   * Forwarded by another peer for the user it names, checked as that user;
   * with security on, only a peer of the cluster forwards.
   */
  @MessagePattern(PeerInternalPatterns.Publish)
  @UserAccess('publish')
  @ClusterMember()
  publishForwarded(@Payload() dto: ForwardedPublishDto) {
    return this.topics.publishForwarded(dto);
  }

  /** Forwarded by another peer for the user it names, checked as that user; peers only. */
  @MessagePattern(PeerInternalPatterns.DeleteTopic)
  @UserAccess('delete')
  @ClusterMember()
  deleteForwarded(@Payload() dto: TopicEpochDto, @Caller() caller?: Principal) {
    return this.topics.deleteForwarded(dto, caller);
  }

  @MessagePattern(PeerPatterns.ListTopics)
  @UserAccess('read')
  list(@Payload() _dto: EmptyDto) {
    return this.topics.list();
  }
}
