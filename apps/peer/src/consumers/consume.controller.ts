import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, TcpContext } from '@nestjs/microservices';
import { PeerStreamPatterns } from '@p2p-pubsub/protocol';
import { ConsumeAckDto, ConsumeDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess, clientConnectionOf } from '@p2p-pubsub/server';
import { ConsumeService } from './consume.service';

@Controller()
export class ConsumeController {
  constructor(private readonly consume: ConsumeService) {}

  /** The connection goes along: the stream ends when it closes (Nest never cancels it). */
  @MessagePattern(PeerStreamPatterns.Consume)
  @UserAccess('subscribe') // reading a topic, as pull is
  stream(@Payload() dto: ConsumeDto, @Ctx() context: TcpContext) {
    return this.consume.consume(dto, clientConnectionOf(context));
  }

  @MessagePattern(PeerStreamPatterns.ConsumeAck)
  @UserAccess('subscribe')
  ack(@Payload() dto: ConsumeAckDto) {
    return this.consume.ack(dto);
  }
}
