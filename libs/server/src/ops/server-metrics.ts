import { Injectable } from '@nestjs/common';
import { InFlightRequests } from '../in-flight';
import { TcpServer } from '../tcp-server';
import { computedCounter, computedGauge } from './metrics';
import { Metrics } from './metrics.service';
import { ReadinessChecks } from './readiness-checks';
import { RequestMeter } from './request-meter';

/**
 * What every service reports about its TCP server: requests and error
 * replies by pattern and code, open connections, requests in flight and
 * reply bytes queued for clients; and the `tcp` readiness check (the
 * listener is bound and not closing).
 */
@Injectable()
export class ServerMetrics {
  private server?: TcpServer;

  constructor(
    private readonly metrics: Metrics,
    private readonly meter: RequestMeter,
    private readonly inFlight: InFlightRequests,
    private readonly checks: ReadinessChecks,
  ) {}

  /** Called by startService before the server listens. */
  attach(server: TcpServer): void {
    this.server = server;
    this.checks.add('tcp', () => {
      const listener = server.listener;
      if (!listener?.listening) return { ready: false, reason: 'not listening' };
      const address = listener.address();
      return {
        ready: true,
        details: typeof address === 'object' && address ? { port: address.port } : {},
      };
    });
    if (!this.metrics.enabled) return;
    server.countRequestsWith((pattern, served) => this.meter.countRequest(pattern, served));
    this.register();
  }

  private register(): void {
    const { registry } = this.metrics;
    computedCounter({
      registry,
      name: 'pubsub_requests_total',
      help: 'Requests received, by pattern (Nest framing and bare JSON alike; "unknown" for a pattern no handler serves).',
      labelNames: ['pattern'],
      read: () => [...this.meter.requestCounts()].map(([pattern, count]) => [{ pattern }, count]),
    });
    computedCounter({
      registry,
      name: 'pubsub_request_errors_total',
      help: 'Error replies, by pattern and error code.',
      labelNames: ['pattern', 'code'],
      read: () =>
        [...this.meter.errorCounts()].map(([pattern, code, count]) => [{ pattern, code }, count]),
    });
    computedGauge({
      registry,
      name: 'pubsub_connections',
      help: 'Client connections open to this process (peers, clients, the CLI).',
      read: () => [[{}, this.server?.connections.size ?? 0]],
    });
    computedGauge({
      registry,
      name: 'pubsub_requests_in_flight',
      help: 'Requests being handled: received, reply not yet sent.',
      read: () => [[{}, this.inFlight.inFlight]],
    });
    computedGauge({
      registry,
      name: 'pubsub_reply_queued_bytes',
      help: 'Reply bytes written but not yet taken by clients, over all connections.',
      read: () => {
        let bytes = 0;
        for (const socket of this.server?.connections ?? []) bytes += socket.writableLength;
        return [[{}, bytes]];
      },
    });
  }
}
