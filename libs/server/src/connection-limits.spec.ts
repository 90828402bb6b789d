// Guards the connection limits' defaults and checks: derived from the
// open-file limit so that connections up to the cap leave descriptors for
// files, refused when set beyond what the process may open, and logged
// refusals kept to one line per interval however many there are.
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import {
  ConnectionRegistry,
  defaultMaxConnections,
  openFileLimit,
  resolveConnectionLimits,
} from './connection-limits';
import { ConfigError } from './config';

describe('connection limits', () => {
  it('gives connections half of the open files, within bounds', () => {
    expect(defaultMaxConnections(1024)).toBe(480);
    expect(defaultMaxConnections(256)).toBe(96);
    expect(defaultMaxConnections(20)).toBe(16);
    expect(defaultMaxConnections(1_048_576)).toBe(10_000);
  });

  it('leaves a peer room for its MAX_OPEN_FILES', () => {
    expect(defaultMaxConnections(1024, 256)).toBe(480);
    expect(defaultMaxConnections(400, 256)).toBe(80);
    expect(resolveConnectionLimits({}, 400, 256).maxConnections).toBe(80);
    expect(() => resolveConnectionLimits({ maxConnections: 81 }, 400, 256)).toThrow(
      /at most 80 \(that less MAX_OPEN_FILES \(256\) less 64\)/,
    );
  });

  it('reads this process’s open-file limit', () => {
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('fills in defaults: 256 per address, 1024 requests in flight, 16 MiB of queued replies', () => {
    expect(resolveConnectionLimits({}, 1024)).toEqual({
      maxConnections: 480,
      maxConnectionsPerAddress: 256,
      maxInFlightPerConnection: 1024,
      maxQueuedReplyBytes: 16 * 1024 * 1024,
    });
    expect(resolveConnectionLimits({ maxConnections: 50 }, 1024).maxConnectionsPerAddress).toBe(50);
  });

  it('refuses a connection cap the open-file limit cannot carry, and a per-address cap above it', () => {
    expect(() => resolveConnectionLimits({ maxConnections: 960 }, 1024)).not.toThrow();
    expect(() => resolveConnectionLimits({ maxConnections: 961 }, 1024)).toThrow(ConfigError);
    expect(() => resolveConnectionLimits({ maxConnections: 1000 }, 1000)).toThrow(
      /MAX_CONNECTIONS \(--max-connections\) = '1000'.*ulimit -n/,
    );
    expect(() =>
      resolveConnectionLimits({ maxConnections: 10, maxConnectionsPerAddress: 11 }, 1024),
    ).toThrow(/MAX_CONNECTIONS_PER_ADDRESS .* larger than MAX_CONNECTIONS/);
  });

  it('logs refusals at most once per interval, counting the ones in between', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const registry = new ConnectionRegistry(resolveConnectionLimits({}, 1024));
    registry.logRefusal('first', 0);
    registry.logRefusal('second', 5_000);
    registry.logRefusal('third', 9_000);
    registry.logRefusal('fourth', 10_000);
    expect(warn.mock.calls.map(([line]) => line)).toEqual([
      'first',
      'fourth (and 2 refusal(s) not logged before)',
    ]);
    warn.mockRestore();
  });
});
