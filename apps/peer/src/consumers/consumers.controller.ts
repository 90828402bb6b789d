import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, TcpContext } from '@nestjs/microservices';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { AckDto, PullDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess, clientConnectionOf } from '@p2p-pubsub/server';
import { ConsumersService } from './consumers.service';

@Controller()
export class ConsumersController {
  constructor(private readonly consumers: ConsumersService) {}

  /** The connection goes along: the consumer moves once the reply has reached it. */
  @MessagePattern(PeerPatterns.Pull)
  @UserAccess('subscribe')
  pull(@Payload() dto: PullDto, @Ctx() context: TcpContext) {
    return this.consumers.pull(dto, clientConnectionOf(context));
  }

  // Moves a position as pull does: the same access.
  @MessagePattern(PeerPatterns.Ack)
  @UserAccess('subscribe')
  ack(@Payload() dto: AckDto) {
    return this.consumers.ack(dto);
  }
}
