import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { IsIn, IsOptional, IsString, Length, validateSync } from 'class-validator';
import { parseArgs } from 'util';

/** Where one setting comes from: an environment variable and its flags. */
export interface SettingSource {
  env: string;
  /** Long flag names without dashes; the first is the documented one. */
  flags: string[];
}

/** How a service learns that whoever started it is gone (see Lifelines). */
export const Lifelines = ['stdin'] as const;
export type Lifeline = (typeof Lifelines)[number];

/**
 * Settings every service takes from whoever starts it (a launcher: the
 * tests, the bench, `npm start`), besides its own; each app's config class
 * extends this one and spreads `processSettingSources` into its sources.
 */
export class ProcessSettings {
  /** Where to write the ready report (ReadyReport, JSON), rewritten as readiness changes. */
  @IsOptional()
  @IsString()
  @Length(1, 4096)
  readyFile?: string;

  /**
   * `stdin`: shut down when standard input closes. A launcher holds the other
   * end of that pipe, so the service goes when its launcher goes, even one
   * killed with -9.
   */
  @IsOptional()
  @IsIn(Lifelines)
  lifeline?: Lifeline;
}

export const processSettingSources: Record<keyof ProcessSettings, SettingSource> = {
  readyFile: { env: 'READY_FILE', flags: ['ready-file'] },
  lifeline: { env: 'LIFELINE', flags: ['lifeline'] },
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Reads a settings class from flags (first) and the environment, applies the
 * class's own defaults, and validates it with class-validator. A bad value
 * fails start-up with a message naming the variable and its flag.
 */
export function loadConfig<T extends object>(
  schema: new () => T,
  sources: Record<keyof T & string, SettingSource>,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): T {
  const options: Record<string, { type: 'string' }> = {};
  for (const source of Object.values<SettingSource>(sources)) {
    for (const flag of source.flags) options[flag] = { type: 'string' };
  }
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }

  const raw: Record<string, string> = {};
  for (const [key, source] of Object.entries<SettingSource>(sources)) {
    const fromFlag = source.flags.map((flag) => flags[flag]).find((v) => v !== undefined);
    const value = fromFlag ?? env[source.env];
    if (typeof value === 'string' && value !== '') raw[key] = value;
  }

  const config = plainToInstance(schema, raw, { enableImplicitConversion: true });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((error) => {
      const source = sources[error.property as keyof T & string];
      const given = raw[error.property];
      return `  ${source.env} (--${source.flags[0]})${given === undefined ? '' : ` = '${given}'`}: ${Object.values(error.constraints ?? {}).join('; ')}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
