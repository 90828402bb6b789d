import {
  DynamicModule,
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { Metrics, OPS_OPTIONS } from './metrics.service';
import type { OpsOptions } from './metrics.service';
import { ReadinessChecks } from './readiness-checks';
import { RequestMeter } from './request-meter';
import { ServerMetrics } from './server-metrics';

/**
 * The ops port's side of a service: /health/live, /health/ready (Terminus,
 * with the checks the app adds to ReadinessChecks) and /metrics (the app
 * registers its own series on Metrics). Global, so each app's own ops
 * providers reach it; startService imports it beside the app's module.
 */
@Global()
@Module({})
export class OpsModule implements OnApplicationShutdown {
  private readonly logger = new Logger('Ops');

  constructor(@Inject(OPS_OPTIONS) private readonly options: OpsOptions) {}

  static forRoot(options: OpsOptions): DynamicModule {
    return {
      module: OpsModule,
      // Readiness changes are this service's own log lines (registration,
      // the indexer going away); a failed probe is not an error to log.
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: OPS_OPTIONS, useValue: options },
        { provide: RequestMeter, useValue: new RequestMeter() },
        Metrics,
        ReadinessChecks,
        ServerMetrics,
      ],
      exports: [OPS_OPTIONS, Metrics, ReadinessChecks, RequestMeter, ServerMetrics],
    };
  }

  /** The last line of a normal shutdown. */
  onApplicationShutdown(signal?: string): void {
    this.logger.log(`${this.options.role} stopped${signal ? ` (${signal})` : ''}`);
  }
}
