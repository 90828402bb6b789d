import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { LogFormat, LogLevelName, nestLogLevels } from './ops.settings';

/**
 * Nest's own start-up chatter: a line per module (InstanceLoader), per HTTP
 * route and per server. Kept, at debug level, for LOG_LEVEL=debug.
 */
const START_UP_CONTEXTS = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
  'NestMicroservice',
]);

export interface ServiceLoggerOptions {
  /** `indexer` or `peer`. */
  role: string;
  /** host:port; replaced by `identify` once the port is bound. */
  id: string;
  format: LogFormat;
  level: LogLevelName;
  /** Colours in pretty mode (a terminal without NO_COLOR). */
  colors: boolean;
}

/**
 * Every line a service writes, through Nest's own ConsoleLogger: `pretty`
 * is Nest's familiar layout with an ISO 8601 time; `json` is one object per
 * line:
 *
 *   {"time":"2026-11-30T04:12:57.123Z","level":"info","role":"peer","id":"127.0.0.1:5555",
 *    "context":"Topics","message":"topic 'Sports' created","topic":"Sports"}
 *
 * Fields are Nest's structured params: `logger.log('...', { topic, offset })`
 * puts `topic` and `offset` beside the message (and prints them after it in
 * pretty mode).
 */
export class ServiceLogger extends ConsoleLogger {
  private readonly role: string;
  private id: string;

  constructor(options: ServiceLoggerOptions) {
    super({
      prefix: `${options.role} ${options.id}`,
      json: options.format === 'json',
      colors: options.format === 'pretty' && options.colors,
      logLevels: nestLogLevels(options.level),
      compact: options.format === 'json' ? true : undefined,
    });
    this.role = options.role;
    this.id = options.id;
  }

  /** The id is known once the listener is bound (the port may be 0 until then). */
  identify(id: string): void {
    this.id = id;
    this.options.prefix = `${this.role} ${id}`;
  }

  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (typeof context === 'string' && START_UP_CONTEXTS.has(context)) {
      super.debug(message, ...optionalParams);
      return;
    }
    super.log(message, ...optionalParams);
  }

  protected override getTimestamp(): string {
    return new Date().toISOString();
  }

  protected override printAsJson(
    message: unknown,
    options: {
      context: string;
      logLevel: LogLevel;
      writeStreamType?: 'stdout' | 'stderr';
      errorStack?: unknown;
      params?: Record<string, unknown>;
      error?: Error;
    },
  ): void {
    const line: Record<string, unknown> = {
      time: new Date().toISOString(),
      level: options.logLevel === 'log' ? 'info' : options.logLevel,
      role: this.role,
      id: this.id,
    };
    if (options.context) line.context = options.context;
    line.message = message;
    // Fields never replace the ones above.
    for (const [key, value] of Object.entries(options.params ?? {})) {
      if (!(key in line)) line[key] = value;
    }
    if (options.error) line.error = this.serializeError(options.error);
    else if (options.errorStack) line.stack = options.errorStack;
    const stream = process[options.writeStreamType ?? 'stdout'];
    stream.write(`${this.stringifyJsonLogObject(line)}\n`);
  }
}
