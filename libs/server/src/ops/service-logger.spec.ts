// Guards the log line format operators parse: one JSON object per line with
// an ISO time, level, role, id, context, message and the fields passed as
// structured params; Nest's start-up chatter demoted to debug; levels below
// LOG_LEVEL dropped.
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ServiceLogger, ServiceLoggerOptions } from './service-logger';

function capture(options: Partial<ServiceLoggerOptions>, log: (logger: ServiceLogger) => void) {
  const lines: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    log(
      new ServiceLogger({
        role: 'peer',
        id: '127.0.0.1:0',
        format: 'json',
        level: 'info',
        colors: false,
        ...options,
      }),
    );
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return lines;
}

describe('ServiceLogger', () => {
  it('writes one JSON object per line: time, level, role, id, context, message, fields', () => {
    const [line, ...rest] = capture({}, (logger) => {
      logger.identify('127.0.0.1:5555');
      logger.log("topic 'Sports' created", { topic: 'Sports', offset: 3 }, 'Topics');
    });
    expect(rest).toEqual([]);
    expect(line.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(line);
    expect(parsed).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'info',
      role: 'peer',
      id: '127.0.0.1:5555',
      context: 'Topics',
      message: "topic 'Sports' created",
      topic: 'Sports',
      offset: 3,
    });
    expect(Object.keys(parsed).slice(0, 6)).toEqual([
      'time',
      'level',
      'role',
      'id',
      'context',
      'message',
    ]);
  });

  it('keeps an error as a structured field, and never lets a field replace the level', () => {
    const [line] = capture({}, (logger) =>
      logger.error(new Error('disk on fire'), { level: 'trace' }, 'LogStore'),
    );
    const parsed = JSON.parse(line);
    expect(parsed).toMatchObject({ level: 'error', context: 'LogStore', message: 'disk on fire' });
    expect(parsed.error).toMatchObject({ name: 'Error', message: 'disk on fire' });
  });

  it("drops Nest's per-module start-up lines unless LOG_LEVEL is debug", () => {
    const quiet = capture({}, (logger) => {
      logger.log('AppModule dependencies initialized', 'InstanceLoader');
      logger.log('Nest microservice successfully started', 'NestMicroservice');
      logger.debug('details', 'Delivery');
      logger.log('kept', 'Topics');
    });
    expect(quiet.map((line) => JSON.parse(line).message)).toEqual(['kept']);
    const verbose = capture({ level: 'debug' }, (logger) =>
      logger.log('AppModule dependencies initialized', 'InstanceLoader'),
    );
    expect(JSON.parse(verbose[0])).toMatchObject({ level: 'debug', context: 'InstanceLoader' });
  });

  it('honours LOG_LEVEL=warn through the Nest Logger facade too', () => {
    const lines = capture({ level: 'warn' }, (logger) => {
      Logger.overrideLogger(logger);
      new Logger('Delivery').log('routine');
      new Logger('Delivery').warn('retrying', { peer: '127.0.0.1:5556' });
    });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: 'warn', message: 'retrying', peer: '127.0.0.1:5556' }),
    ]);
  });

  it('prints pretty lines with an ISO time and the fields after the message', () => {
    const [line] = capture({ format: 'pretty' }, (logger) =>
      logger.log('published', { topic: 'Sports' }, 'Topics'),
    );
    expect(line).toMatch(
      /^\[peer 127\.0\.0\.1:0\] \d+ +- \d{4}-\d\d-\d\dT[\d:.]+Z +LOG \[Topics\] published \{ topic: 'Sports' \}\n$/,
    );
  });
});
