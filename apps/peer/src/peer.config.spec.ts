// Guards the storage settings a peer validates at start-up: where its data
// lives by default, and that a bad durability or retention value stops it.
import { ConfigError } from '@p2p-pubsub/server';
import { loadPeerConfig } from './peer.config';

describe('loadPeerConfig storage settings', () => {
  it('defaults to interval fsync, 16 MiB segments, and retention of a million messages, 1 GiB or 7 days', () => {
    expect(loadPeerConfig([], {})).toMatchObject({
      fsync: 'interval',
      fsyncIntervalMs: 1000,
      segmentBytes: 16 * 1024 * 1024,
      retentionMessages: 1_000_000,
      retentionBytes: 1024 * 1024 * 1024,
      retentionMs: 7 * 24 * 60 * 60 * 1000,
    });
  });

  it('names the default data directory after the port, and leaves a port-0 peer without one', () => {
    expect(loadPeerConfig(['--port', '5556'], {}).dataDir).toBe('data/peer-5556');
    expect(loadPeerConfig([], { PORT: '0' }).dataDir).toBeUndefined();
    expect(loadPeerConfig(['--port', '0', '--data-dir', '/srv/peer'], {}).dataDir).toBe(
      '/srv/peer',
    );
    expect(loadPeerConfig([], { DATA_DIR: '/data' }).dataDir).toBe('/data');
  });

  it('refuses an unknown fsync policy and retention below its minimum, naming the variable', () => {
    expect(() => loadPeerConfig([], { FSYNC: 'sometimes' })).toThrow(ConfigError);
    expect(() => loadPeerConfig([], { FSYNC: 'sometimes' })).toThrow(
      /FSYNC \(--fsync\) = 'sometimes'/,
    );
    expect(() => loadPeerConfig(['--segment-bytes', '100'], {})).toThrow(
      /SEGMENT_BYTES \(--segment-bytes\) = '100'/,
    );
    expect(() => loadPeerConfig(['--retention-ms', '0'], {})).toThrow(/RETENTION_MS/);
    expect(loadPeerConfig(['--fsync', 'always'], {}).fsync).toBe('always');
  });
});

describe('loadPeerConfig resource bounds', () => {
  it('caps open files at 256 and topics at 10,000 by default, from a flag or the environment', () => {
    expect(loadPeerConfig([], {})).toMatchObject({ maxOpenFiles: 256, maxTopics: 10_000 });
    expect(loadPeerConfig(['--max-open-files', '64'], { MAX_TOPICS: '2500' })).toMatchObject({
      maxOpenFiles: 64,
      maxTopics: 2500,
    });
  });

  it('refuses a cap too small to work with, naming the variable', () => {
    expect(() => loadPeerConfig(['--max-open-files', '4'], {})).toThrow(
      /MAX_OPEN_FILES \(--max-open-files\) = '4'/,
    );
    expect(() => loadPeerConfig([], { MAX_TOPICS: '0' })).toThrow(/MAX_TOPICS \(--max-topics\)/);
  });
});
