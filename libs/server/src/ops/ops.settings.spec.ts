// Guards where the ops port goes and how logs are chosen: the TCP port +
// 1000 by default (so `npm start` serves 7000 and 6555-6557), any free port
// beside a TCP port 0 (tests), off with 0, and a clear error when the
// default is not a port.
import { ConfigError, loadConfig } from '../config';
import {
  OpsSettings,
  logFormatOf,
  nestLogLevels,
  opsListenPort,
  opsSettingSources,
} from './ops.settings';

const load = (env: NodeJS.ProcessEnv, argv: string[] = []) =>
  loadConfig(OpsSettings, opsSettingSources, argv, env);

describe('opsListenPort', () => {
  it('is the TCP port + 1000 unless set, any free port beside TCP port 0, and off at 0', () => {
    expect(opsListenPort(load({}), 6000)).toBe(7000);
    expect(opsListenPort(load({}), 5555)).toBe(6555);
    expect(opsListenPort(load({}), 0)).toBe(0);
    expect(opsListenPort(load({ OPS_PORT: '9100' }), 0)).toBe(9100);
    expect(opsListenPort(load({}, ['--ops-port', '9200']), 5555)).toBe(9200);
    expect(opsListenPort(load({ OPS_PORT: '0' }), 5555)).toBeUndefined();
    expect(opsListenPort(load({ OPS_PORT: '0' }), 0)).toBeUndefined();
  });

  it('refuses a default past 65535 and a bad value, naming OPS_PORT', () => {
    expect(() => opsListenPort(load({}), 65000)).toThrow(ConfigError);
    expect(() => opsListenPort(load({}), 65000)).toThrow(/OPS_PORT \(--ops-port\)/);
    expect(() => load({ OPS_PORT: 'http' })).toThrow(/OPS_PORT \(--ops-port\) = 'http'/);
    expect(() => load({ OPS_PORT: '70000' })).toThrow(/OPS_PORT/);
  });
});

describe('log settings', () => {
  it('default to info, pretty on a terminal and json otherwise', () => {
    const settings = load({});
    expect(settings.logLevel).toBe('info');
    expect(logFormatOf(settings, true)).toBe('pretty');
    expect(logFormatOf(settings, false)).toBe('json');
    expect(logFormatOf(load({ LOG_FORMAT: 'json' }), true)).toBe('json');
  });

  it('turn a level into that level and the ones above it, in Nest names', () => {
    expect(nestLogLevels('warn')).toEqual(['warn', 'error', 'fatal']);
    expect(nestLogLevels('info')).toEqual(['log', 'warn', 'error', 'fatal']);
    expect(() => load({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL \(--log-level\) = 'loud'/);
    expect(() => load({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
    expect(() => load({ METRICS_TOPIC_LABELS: 'false' })).toThrow(/METRICS_TOPIC_LABELS/);
  });
});
