import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { IndexerPatterns } from '@p2p-pubsub/protocol';
import {
  ClaimTopicDto,
  EmptyDto,
  LookupDto,
  PeerIdDto,
  RegisterDto,
} from '@p2p-pubsub/protocol/dto';
import { RegistryService } from './registry.service';

@Controller()
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @MessagePattern(IndexerPatterns.Register)
  register(@Payload() dto: RegisterDto) {
    return this.registry.register(dto);
  }

  @MessagePattern(IndexerPatterns.Unregister)
  unregister(@Payload() dto: PeerIdDto) {
    return this.registry.unregister(dto.peerId);
  }

  @MessagePattern(IndexerPatterns.Heartbeat)
  heartbeat(@Payload() dto: PeerIdDto) {
    return this.registry.heartbeat(dto.peerId);
  }

  @MessagePattern(IndexerPatterns.Lookup)
  lookup(@Payload() dto: LookupDto) {
    return this.registry.lookup(dto.topic);
  }

  @MessagePattern(IndexerPatterns.CreateTopic)
  createTopic(@Payload() dto: ClaimTopicDto) {
    return this.registry.claim(dto.topic, dto.peerId);
  }

  @MessagePattern(IndexerPatterns.DeleteTopic)
  deleteTopic(@Payload() dto: ClaimTopicDto) {
    return this.registry.release(dto.topic, dto.peerId);
  }

  @MessagePattern(IndexerPatterns.ListTopics)
  listTopics(@Payload() _dto: EmptyDto) {
    return this.registry.listTopics();
  }

  @MessagePattern(IndexerPatterns.ListPeers)
  listPeers(@Payload() _dto: EmptyDto) {
    return this.registry.listPeers();
  }
}
