import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { EmptyDto, PublishDto, TopicDto } from '@p2p-pubsub/protocol/dto';
import { TopicsService } from './topics.service';

@Controller()
export class TopicsController {
  constructor(private readonly topics: TopicsService) {}

  @MessagePattern(PeerPatterns.CreateTopic)
  create(@Payload() dto: TopicDto) {
    return this.topics.create(dto.topic);
  }

  @MessagePattern(PeerPatterns.Publish)
  publish(@Payload() dto: PublishDto) {
    return this.topics.publish(dto.topic, dto.message);
  }

  @MessagePattern(PeerPatterns.DeleteTopic)
  delete(@Payload() dto: TopicDto) {
    return this.topics.delete(dto.topic);
  }

  @MessagePattern(PeerPatterns.ListTopics)
  list(@Payload() _dto: EmptyDto) {
    return this.topics.list();
  }
}
