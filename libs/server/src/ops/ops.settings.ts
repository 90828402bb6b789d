import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import type { LogLevel } from '@nestjs/common';
import { ConfigError, ProcessSettings, SettingSource, processSettingSources } from '../config';

export const LogFormats = ['json', 'pretty'] as const;
export type LogFormat = (typeof LogFormats)[number];

/** LOG_LEVEL values, most verbose first; `info` is Nest's `log`. */
export const LogLevelNames = ['verbose', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevelName = (typeof LogLevelNames)[number];

export const Switches = ['on', 'off'] as const;
export type Switch = (typeof Switches)[number];

/** How far the ops port sits from the TCP port when OPS_PORT is not given. */
export const OPS_PORT_OFFSET = 1000;

/**
 * What every service takes for operating it: its HTTP ops port (health and
 * metrics), its logs and how fine its metrics are, besides what a launcher
 * gives it (ProcessSettings: ready file, lifeline). Each app's config class
 * extends this one and spreads `opsSettingSources` into its sources.
 */
export class OpsSettings extends ProcessSettings {
  /**
   * HTTP port for /health/* and /metrics. Unset: the TCP port + 1000, or any
   * free port when the TCP port is 0. `0` turns the ops port (and the
   * metrics behind it) off.
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  opsPort?: number;

  @IsIn(LogLevelNames)
  logLevel: LogLevelName = 'info';

  /** Unset: `pretty` when standard output is a terminal, `json` otherwise. */
  @IsOptional()
  @IsIn(LogFormats)
  logFormat?: LogFormat;

  /**
   * `off` drops the topic and consumer labels (series are summed over
   * topics), for clusters with more topics than a Prometheus should keep.
   */
  @IsIn(Switches)
  metricsTopicLabels: Switch = 'on';
}

export const opsSettingSources: Record<keyof OpsSettings, SettingSource> = {
  ...processSettingSources,
  opsPort: { env: 'OPS_PORT', flags: ['ops-port'] },
  logLevel: { env: 'LOG_LEVEL', flags: ['log-level'] },
  logFormat: { env: 'LOG_FORMAT', flags: ['log-format'] },
  metricsTopicLabels: { env: 'METRICS_TOPIC_LABELS', flags: ['metrics-topic-labels'] },
};

/**
 * The port the ops HTTP server listens on for a service on `tcpPort`:
 * undefined when it is off, 0 for any free port.
 */
export function opsListenPort(settings: OpsSettings, tcpPort: number): number | undefined {
  if (settings.opsPort === 0) return undefined;
  if (settings.opsPort !== undefined) return settings.opsPort;
  if (tcpPort === 0) return 0;
  const derived = tcpPort + OPS_PORT_OFFSET;
  if (derived > 65535) {
    throw new ConfigError(
      `Invalid configuration:\n  OPS_PORT (--ops-port): the default, PORT + ${OPS_PORT_OFFSET} = ${derived}, is not a port; set it (0 turns it off)`,
    );
  }
  return derived;
}

export function logFormatOf(settings: OpsSettings, isTerminal: boolean): LogFormat {
  return settings.logFormat ?? (isTerminal ? 'pretty' : 'json');
}

/** Nest's levels at or above `name`. */
export function nestLogLevels(name: LogLevelName): LogLevel[] {
  const from = LogLevelNames.indexOf(name);
  return LogLevelNames.slice(from).map((level) => (level === 'info' ? 'log' : level));
}
