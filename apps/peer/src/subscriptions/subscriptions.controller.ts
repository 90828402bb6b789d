import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerInternalPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import { DeliverDto, SubscribeDto, TopicDto, TopicEpochDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess } from '@p2p-pubsub/server';
import { FromReplicaHost } from './replica-host.guard';
import { SubscriptionsService } from './subscriptions.service';

@Controller()
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  @MessagePattern(PeerPatterns.Subscribe)
  @UserAccess('subscribe')
  subscribe(@Payload() dto: SubscribeDto) {
    return this.subscriptions.subscribe(dto.topic, dto.from);
  }

  @MessagePattern(PeerPatterns.Unsubscribe)
  @UserAccess('subscribe')
  unsubscribe(@Payload() dto: TopicDto) {
    return this.subscriptions.unsubscribe(dto.topic);
  }

  @MessagePattern(PeerInternalPatterns.Deliver)
  @FromReplicaHost()
  deliver(@Payload() dto: DeliverDto) {
    return this.subscriptions.receive(dto);
  }

  @MessagePattern(PeerInternalPatterns.TopicDeleted)
  @FromReplicaHost()
  topicDeleted(@Payload() dto: TopicEpochDto) {
    return this.subscriptions.topicDeleted(dto.topic, dto.epoch);
  }
}
