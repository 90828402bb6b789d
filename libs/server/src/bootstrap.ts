import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo, Server } from 'net';
import type { Server as TlsServer } from 'tls';
import { ReadyReport, watchLifeline } from '@p2p-pubsub/launcher';
import { BareCommandTable } from '@p2p-pubsub/protocol';
import { ConfigError } from './config';
import { ConnectionLimits, ConnectionRegistry } from './connection-limits';
import { InFlightRequests } from './in-flight';
import { WireLimits } from '@p2p-pubsub/wire';
import { ServiceReadiness } from './readiness';
import { OpsModule } from './ops/ops.module';
import { OpsSettings, logFormatOf, opsListenPort } from './ops/ops.settings';
import { ServerMetrics } from './ops/server-metrics';
import { ServiceLogger } from './ops/service-logger';
import { createServerSocketClass } from './server-socket';
import { TcpServer } from './tcp-server';
import { Security } from './security';

export interface ServiceOptions {
  /** `indexer` or `peer`: with the id, on every log line. */
  role: string;
  host: string;
  port: number;
  /** How others reach this service, when not by `host` (a peer's advertised host). */
  advertisedHost?: string;
  limits: WireLimits;
  /** Connections, and what each may hold; see resolveConnectionLimits. */
  connections: ConnectionLimits;
  /** The original's bare JSON commands this service answers on the same port. */
  bareCommands: BareCommandTable;
  /** Ops port, logs and metrics, and its ready file and lifeline, from its configuration. */
  settings: OpsSettings;
  /** Facts the app reports later that readiness waits for besides listening (a peer: `registered`). */
  readyWhen?: Array<keyof ReadyReport>;
  /** TLS and who may connect; the module must import SecurityModule.forRoot with the same one. */
  security: Security;
}

export interface RunningService {
  app: NestExpressApplication;
  /** The bound port: differs from the configured one when that was 0. */
  port: number;
  /** The ops HTTP port as bound; undefined when it is off. */
  opsPort?: number;
  logger: ServiceLogger;
}

/** The application root: the app's own module beside the ops side. */
@Module({})
class ServiceRootModule {}

export function createLogger(role: string, id: string, settings: OpsSettings): ServiceLogger {
  const terminal = Boolean(process.stdout.isTTY);
  return new ServiceLogger({
    role,
    id,
    format: logFormatOf(settings, terminal),
    level: settings.logLevel,
    colors: terminal && !process.env.NO_COLOR,
  });
}

/**
 * Starts one service the way both apps need it: a hybrid Nest application
 * whose TCP microservice (our framing limits and socket options) does the
 * work, and whose HTTP server is the ops port (health and metrics); SIGTERM
 * and SIGINT drain and exit 0.
 *
 * The microservice is connected with `inheritAppConfig`, so the global pipe
 * and filter apply to it (without that, a hybrid app's microservice gets
 * none). Modules are initialised first (storage recovers), then the TCP
 * listener opens, then the ops port.
 */
export async function startService(
  module: DynamicModule,
  options: ServiceOptions,
): Promise<RunningService> {
  // The launcher's end of the lifeline closes when the launcher exits, however
  // it exits: the service then shuts down as on SIGTERM (drains, unregisters).
  watchLifeline(options.settings.lifeline, () => process.kill(process.pid, 'SIGTERM'));
  const opsPort = opsListenPort(options.settings, options.port);
  const publicHost = options.advertisedHost ?? options.host;
  const logger = createLogger(options.role, `${publicHost}:${options.port}`, options.settings);
  const connections = new ConnectionRegistry(options.connections);
  // Past MAX_QUEUED_REPLY_BYTES new requests are refused; a connection is
  // only dropped well beyond it, when replies already accepted still pile up.
  const limits: WireLimits = {
    ...options.limits,
    maxSendBufferBytes: Math.max(
      options.limits.maxSendBufferBytes,
      2 * options.connections.maxQueuedReplyBytes,
    ),
  };
  const strategy = new TcpServer({
    host: options.host,
    port: options.port,
    socketClass: createServerSocketClass(
      limits,
      options.bareCommands,
      connections,
      options.security,
    ),
    tlsOptions: options.security.serverTlsOptions(),
  });
  const root: DynamicModule = {
    module: ServiceRootModule,
    imports: [
      module,
      OpsModule.forRoot({
        role: options.role,
        metricsEnabled: opsPort !== undefined,
        topicLabels: options.settings.metricsTopicLabels === 'on',
      }),
    ],
  };
  // forceCloseConnections: a Prometheus keeps its connection open between
  // scrapes, which must not hold up shutdown.
  const app = await NestFactory.create<NestExpressApplication>(root, {
    logger,
    forceCloseConnections: true,
  });
  app.disable('x-powered-by');
  app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  app.get(InFlightRequests).track(strategy);
  app.get(ServerMetrics).attach(strategy);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.init();
  await app.startAllMicroservices();
  const server = strategy.unwrap<Server>();
  app.get(InFlightRequests).attach(server);
  const port = (server.address() as AddressInfo).port;
  logger.identify(`${publicHost}:${port}`);
  if (options.security.enabled) options.security.attach(server as TlsServer);

  let boundOpsPort: number | undefined;
  if (opsPort !== undefined) {
    await app.listen(opsPort, options.host);
    boundOpsPort = (app.getHttpServer().address() as AddressInfo).port;
  }
  const ops =
    boundOpsPort === undefined
      ? 'ops port off'
      : `ops on http://${options.host}:${boundOpsPort} (/health/live, /health/ready, /metrics)`;
  logger.log(`listening on ${options.host}:${port}; ${ops}`, options.role);
  app.get(ServiceReadiness).listening({
    role: options.role,
    host: options.host,
    port,
    opsPort: boundOpsPort,
    readyFile: options.settings.readyFile,
    readyWhen: options.readyWhen,
  });
  const { maxConnections, maxConnectionsPerAddress } = options.connections;
  logger.log(
    `up to ${maxConnections} connections, ${maxConnectionsPerAddress} per client address`,
    options.role,
  );
  return { app, port, opsPort: boundOpsPort, logger };
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
