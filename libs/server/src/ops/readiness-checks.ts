import { Injectable } from '@nestjs/common';
import { HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';

/** One readiness condition as it stands now, with what an operator wants to see beside it. */
export interface ReadinessState {
  ready: boolean;
  /** Why it is not ready (shown as the check's `message`). */
  reason?: string;
  details?: Record<string, unknown>;
}

export type ReadinessProbe = () => ReadinessState;

/**
 * The conditions /health/ready checks. Each app adds its own (a peer: its
 * indexer registration and its storage; the indexer: registrations); the
 * ops module adds `tcp`, the listener.
 */
@Injectable()
export class ReadinessChecks {
  private readonly probes = new Map<string, ReadinessProbe>();

  constructor(private readonly indicators: HealthIndicatorService) {}

  add(name: string, probe: ReadinessProbe): void {
    this.probes.set(name, probe);
  }

  /** Terminus indicators, one per check, in the order they were added. */
  asIndicators(): HealthIndicatorFunction[] {
    return [...this.probes].map(([name, probe]) => () => {
      const state = probe();
      const check = this.indicators.check(name);
      const details = state.details ?? {};
      return state.ready
        ? check.up(details)
        : check.down({ message: state.reason ?? 'not ready', ...details });
    });
  }
}
