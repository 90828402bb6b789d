import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerPatterns } from '@p2p-pubsub/protocol';
import { PullDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess } from '@p2p-pubsub/server';
import { ConsumersService } from './consumers.service';

@Controller()
export class ConsumersController {
  constructor(private readonly consumers: ConsumersService) {}

  @MessagePattern(PeerPatterns.Pull)
  @UserAccess('subscribe')
  pull(@Payload() dto: PullDto) {
    return this.consumers.pull(dto);
  }
}
