import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  JsonSocket,
  MessagePattern,
  MicroserviceOptions,
  Payload,
  Transport,
} from '@nestjs/microservices';
import type { AddressInfo, Server, Socket } from 'net';
import { LIFELINE_ENV, READY_FILE_ENV, watchLifeline, writeReadyFile } from '@p2p-pubsub/launcher';
import { TcpServer } from '@p2p-pubsub/server';
import { wireLimitsFor } from '@p2p-pubsub/wire';
import { ECHO_PATTERN } from './echo.constants';

@Controller()
class EchoController {
  @MessagePattern(ECHO_PATTERN)
  echo(@Payload() data: unknown): unknown {
    return data;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

/**
 * Nest's own JSON socket with the frame limits our services use and Nagle
 * off, as theirs: Nest drops its framing options for a custom socket class,
 * so they are passed here.
 */
class EchoSocket extends JsonSocket {
  constructor(socket: Socket) {
    const limits = wireLimitsFor();
    super(socket, {
      maxBufferSize: limits.maxFrameChars,
      incompleteMessageTimeout: limits.incompleteMessageTimeoutMs,
      maxSendBufferSize: limits.maxSendBufferBytes,
    });
    socket.setNoDelay(true);
  }
}

/**
 * The benchmark's reference: a bare Nest TCP microservice with one pattern
 * that returns its payload, and nothing else (no validation, filters or
 * interceptors). It gets Nest's own JSON socket with Nagle off and the
 * same frame limits as our services, so that what the peer adds on top of
 * it is the only difference measured.
 *
 * With `--tcp-server` it runs on our TcpServer instead of Nest's ServerTCP:
 * the same server but for the handler lookup (see tcp-server.ts), which
 * alone moves the echo's ceiling a long way. The bench reports both.
 */
async function main(): Promise<void> {
  watchLifeline(process.env[LIFELINE_ENV], () => process.kill(process.pid, 'SIGTERM'));
  const options = {
    host: '127.0.0.1',
    port: 0,
    socketClass: EchoSocket,
  };
  const server: MicroserviceOptions = process.argv.includes('--tcp-server')
    ? { strategy: new TcpServer(options) }
    : { transport: Transport.TCP, options };
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(EchoModule, {
    ...server,
    logger: ['error', 'warn'],
  });
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen();
  const { port } = app.unwrap<Server>().address() as AddressInfo;
  process.stdout.write(`echo listening on 127.0.0.1:${port}\n`);
  const readyFile = process.env[READY_FILE_ENV];
  if (readyFile) {
    const report = { role: 'echo', pid: process.pid, host: options.host, port };
    writeReadyFile(readyFile, { ...report, listening: true, ready: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
