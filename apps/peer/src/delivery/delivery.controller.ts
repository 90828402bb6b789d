import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerInternalPatterns } from '@p2p-pubsub/protocol';
import { AddSubscriberDto, RemoveSubscriberDto } from '@p2p-pubsub/protocol/dto';
import { DeliveryService } from './delivery.service';

/** Called by subscriber peers on the host. */
@Controller()
export class DeliveryController {
  constructor(private readonly delivery: DeliveryService) {}

  @MessagePattern(PeerInternalPatterns.AddSubscriber)
  addSubscriber(@Payload() dto: AddSubscriberDto) {
    return this.delivery.addSubscriber(dto);
  }

  @MessagePattern(PeerInternalPatterns.RemoveSubscriber)
  removeSubscriber(@Payload() dto: RemoveSubscriberDto) {
    return this.delivery.removeSubscriber(dto.topic, dto.peerId);
  }
}
