import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerInternalPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import { DeliverDto, SubscribeDto, TopicDto } from '@p2p-pubsub/protocol/dto';
import { SubscriptionsService } from './subscriptions.service';

@Controller()
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @MessagePattern(PeerPatterns.Subscribe)
  subscribe(@Payload() dto: SubscribeDto) {
    return this.subscriptions.subscribe(dto.topic, dto.from);
  }

  @MessagePattern(PeerPatterns.Unsubscribe)
  unsubscribe(@Payload() dto: TopicDto) {
    return this.subscriptions.unsubscribe(dto.topic);
  }

  @MessagePattern(PeerInternalPatterns.Deliver)
  deliver(@Payload() dto: DeliverDto) {
    return this.subscriptions.receive(dto);
  }

  @MessagePattern(PeerInternalPatterns.TopicDeleted)
  topicDeleted(@Payload() dto: TopicDto) {
    return this.subscriptions.topicDeleted(dto.topic);
  }
}
