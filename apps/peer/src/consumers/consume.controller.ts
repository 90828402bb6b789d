import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, TcpContext } from '@nestjs/microservices';
import { PeerStreamPatterns } from '@p2p-pubsub/protocol';
import { ConsumeAckDto, ConsumeDto } from '@p2p-pubsub/protocol/dto';
import { UserAccess } from '@p2p-pubsub/server';
import type { Socket } from 'net';
import { ConsumeService } from './consume.service';

/** The socket a request came on (our ServerSocket wraps it as Nest's TcpSocket). */
function netSocketOf(context: TcpContext): Socket {
  return (context.getSocketRef() as unknown as { netSocket: Socket }).netSocket;
}

@Controller()
export class ConsumeController {
  constructor(private readonly consume: ConsumeService) {}

  // Reading a topic, as pull is.
  @MessagePattern(PeerStreamPatterns.Consume)
  @UserAccess('subscribe')
  stream(@Payload() dto: ConsumeDto, @Ctx() context: TcpContext) {
    const socket = netSocketOf(context);
    return this.consume.consume(dto, (listener) => {
      if (socket.destroyed) {
        queueMicrotask(listener);
        return () => undefined;
      }
      socket.once('close', listener);
      return () => socket.off('close', listener);
    });
  }

  @MessagePattern(PeerStreamPatterns.ConsumeAck)
  @UserAccess('subscribe')
  ack(@Payload() dto: ConsumeAckDto) {
    return this.consume.ack(dto);
  }
}
