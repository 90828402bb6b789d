import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { PeerPatterns, PullDto } from '@app/protocol';
import { ConsumersService } from './consumers.service';

@Controller()
export class ConsumersController {
  constructor(private readonly consumers: ConsumersService) {}

  @MessagePattern(PeerPatterns.Pull)
  pull(@Payload() dto: PullDto) {
    return this.consumers.pull(dto);
  }
}
