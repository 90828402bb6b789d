import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerInternalPatterns } from '@p2p-pubsub/protocol';
import { AddSubscriberDto, RemoveSubscriberDto } from '@p2p-pubsub/protocol/dto';
import { ClusterMember, hostAndPortFields, peerIdField } from '@p2p-pubsub/server';
import { DeliveryService } from './delivery.service';

/**
 * Called by subscriber peers on the host; with security on, each only for
 * itself: a peer subscribes its own address and unsubscribes its own id.
 */
@Controller()
export class DeliveryController {
  constructor(private readonly delivery: DeliveryService) {}

  @MessagePattern(PeerInternalPatterns.AddSubscriber)
  @ClusterMember(hostAndPortFields)
  addSubscriber(@Payload() dto: AddSubscriberDto) {
    return this.delivery.addSubscriber(dto);
  }

  @MessagePattern(PeerInternalPatterns.RemoveSubscriber)
  @ClusterMember(peerIdField)
  removeSubscriber(@Payload() dto: RemoveSubscriberDto) {
    return this.delivery.removeSubscriber(dto.topic, dto.peerId);
  }
}
