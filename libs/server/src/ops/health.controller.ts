import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { ReadinessChecks } from './readiness-checks';

/**
 * /health/live answers while the process's event loop does; /health/ready
 * answers 200 once every readiness check passes and 503 otherwise (and
 * while shutting down), with Terminus's body: `status`, and the checks
 * under `info` (passed), `error` (failed) and `details` (all).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: ReadinessChecks,
  ) {}

  @Get('live')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ noCache: true, swaggerDocumentation: false })
  ready() {
    return this.health.check(this.checks.asIndicators());
  }
}
