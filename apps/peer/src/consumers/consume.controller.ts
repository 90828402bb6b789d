import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, TcpContext } from '@nestjs/microservices';
import { PeerStreamPatterns } from '@p2p-pubsub/protocol';
import { ConsumeAckDto, ConsumeDto } from '@p2p-pubsub/protocol/dto';
import type { Principal } from '@p2p-pubsub/protocol';
import { Caller, UserAccess, clientConnectionOf } from '@p2p-pubsub/server';
import { ConsumeService } from './consume.service';

@Controller()
export class ConsumeController {
  constructor(private readonly consume: ConsumeService) {}

  /**
   * The connection goes along: the stream ends when it closes (Nest never
   * cancels it); so does the caller, checked again when permissions reload.
   */
  @MessagePattern(PeerStreamPatterns.Consume)
  @UserAccess('subscribe') // reading a topic, as pull is
  stream(@Payload() dto: ConsumeDto, @Ctx() context: TcpContext, @Caller() caller?: Principal) {
    return this.consume.consume(dto, clientConnectionOf(context), caller);
  }

  @MessagePattern(PeerStreamPatterns.ConsumeAck)
  @UserAccess('subscribe')
  ack(@Payload() dto: ConsumeAckDto) {
    return this.consume.ack(dto);
  }
}
