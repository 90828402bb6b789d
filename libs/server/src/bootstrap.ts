import { ConsoleLogger, DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo, Server } from 'net';
import { ReadyReport, watchLifeline } from '@p2p-pubsub/launcher';
import { BareCommandTable } from '@p2p-pubsub/protocol';
import { ConfigError, ProcessSettings } from './config';
import { InFlightRequests } from './in-flight';
import { WireLimits } from '@p2p-pubsub/wire';
import { ServiceReadiness } from './readiness';
import { createServerSocketClass } from './server-socket';
import { TcpServer } from './tcp-server';

export interface ServiceOptions {
  /** `indexer` or `peer`: with the port, prefixes every log line. */
  role: string;
  host: string;
  port: number;
  limits: WireLimits;
  /** The original's bare JSON commands this service answers on the same port. */
  bareCommands: BareCommandTable;
  /** Its ready file and lifeline, from its configuration. */
  settings: ProcessSettings;
  /** Facts the app reports later that readiness waits for besides listening (a peer: `registered`). */
  readyWhen?: Array<keyof ReadyReport>;
}

export interface RunningService {
  app: INestMicroservice;
  /** The bound port: differs from the configured one when that was 0. */
  port: number;
}

export function createLogger(role: string, port: number): ConsoleLogger {
  return new ConsoleLogger({
    prefix: `${role}:${port}`,
    colors: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  });
}

/**
 * Starts one TCP microservice the way both apps need it: our framing limits
 * and socket options, and a SIGTERM that drains and exits 0.
 */
export async function startService(
  module: DynamicModule,
  options: ServiceOptions,
): Promise<RunningService> {
  // The launcher's end of the lifeline closes when the launcher exits, however
  // it exits: the service then shuts down as on SIGTERM (drains, unregisters).
  watchLifeline(options.settings.lifeline, () => process.kill(process.pid, 'SIGTERM'));
  const logger = createLogger(options.role, options.port);
  const strategy = new TcpServer({
    host: options.host,
    port: options.port,
    socketClass: createServerSocketClass(options.limits, options.bareCommands),
  });
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module, {
    strategy,
    logger,
  });
  app.get(InFlightRequests).track(strategy);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen();
  const server = app.unwrap<Server>();
  app.get(InFlightRequests).attach(server);
  const port = (server.address() as AddressInfo).port;
  logger.log(`listening on ${options.host}:${port}`, options.role);
  app.get(ServiceReadiness).listening({
    role: options.role,
    host: options.host,
    port,
    readyFile: options.settings.readyFile,
    readyWhen: options.readyWhen,
  });
  return { app, port };
}

/** Runs `main`, turning a configuration error into exit code 2. */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
