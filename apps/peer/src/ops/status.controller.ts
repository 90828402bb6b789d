import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import type { ConsumerListResult } from '@p2p-pubsub/protocol';
import { ListConsumersDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess } from '@p2p-pubsub/server';
import { PeerIdentity } from '../peer-identity';
import { PeerPositions } from './peer-positions';

@Controller()
export class StatusController {
  constructor(
    private readonly positions: PeerPositions,
    private readonly identity: PeerIdentity,
  ) {}

  @MessagePattern(PeerPatterns.ListConsumers)
  @UserAccess('read')
  listConsumers(@Payload() dto: ListConsumersDto): ConsumerListResult {
    const consumers = this.positions.consumerPositions(dto.topic);
    const subscribers = this.positions
      .subscribers(dto.topic)
      .map(({ lagBytes: _lagBytes, ...position }) => position);
    return {
      status: 'success',
      message: `${consumers.length} consumer(s), ${subscribers.length} subscriber peer(s)`,
      peerId: this.identity.peerId,
      consumers,
      subscribers,
    };
  }
}
