// Guards start-up after a crash mid-write or a damaged disk: a peer whose log
// file ends in a torn or corrupt record still starts, says what it cut, and
// serves every whole message, never a half-written one.
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'fs';
import { join } from 'path';
import { PeerClient } from '@p2p-pubsub/client';
import { peerClient } from './support/clients';
import { DataDirs } from './support/data-dirs';
import { ServiceProcess, indexerProcess, peerProcess } from './support/processes';
import { readLog } from './support/pull';

/** The first segment file of the only topic in a peer's data directory. */
function firstSegmentOf(dataDir: string): string {
  const [topicDir] = readdirSync(join(dataDir, 'topics'));
  return join(dataDir, 'topics', topicDir, '00000000000000000000.log');
}

describe('a peer whose log file has a damaged tail', () => {
  const dataDirs = new DataDirs();
  let indexer: ServiceProcess;
  const peers: ServiceProcess[] = [];
  const clients: PeerClient[] = [];

  /** A peer that hosts `topic` with `count` messages, killed with -9 afterwards. */
  async function killedHostWith(topic: string, count: number) {
    const dataDir = dataDirs.make(topic);
    const peer = peerProcess(topic, indexer.port, ['--data-dir', dataDir]);
    peers.push(peer);
    await peer.start();
    const client = peerClient(peer.port);
    clients.push(client);
    await client.createTopic(topic);
    for (let i = 0; i < count; i++) await client.publish(topic, `entry ${i}`);
    const port = peer.port;
    await peer.stop('SIGKILL');
    return {
      peer,
      client,
      dataDir,
      restart: () => peer.start(['--port', String(port)]),
    };
  }

  beforeAll(async () => {
    indexer = await indexerProcess().start();
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(peers.map((peer) => peer.stop()));
    await indexer?.stop();
    dataDirs.removeAll();
  });

  it('cuts a torn last record, reports it, serves the whole ones and gives the next publish the freed offset', async () => {
    const { peer, client, dataDir, restart } = await killedHostWith('Torn', 20);
    const segment = firstSegmentOf(dataDir);
    // As if the process died in the middle of writing the last record.
    truncateSync(segment, statSync(segment).size - 5);

    const mark = peer.output.length;
    await restart();
    const report = await peer.waitForLog(/cut \d+ byte\(s\) from 00000000000000000000\.log/, mark);
    expect(report).toMatch(
      /log 'Torn': cut 27 byte\(s\) .*\(torn record \(27 of 32 bytes\)\); kept up to offset 18/,
    );

    const log = await readLog(client, 'Torn');
    expect(log.map((m) => m.message)).toEqual(Array.from({ length: 19 }, (_, i) => `entry ${i}`));
    expect((await client.publish('Torn', 'rewritten')).offset).toBe(19);
  });

  it('cuts a corrupted record and everything after it, and serves what came before', async () => {
    const { peer, client, dataDir, restart } = await killedHostWith('Corrupt', 20);
    const segment = firstSegmentOf(dataDir);
    const bytes = readFileSync(segment);
    // Flip a bit in the message of record 10 (records 0-9 are 24 + 7 bytes each).
    bytes[10 * 31 + 24 + 2] ^= 0x04;
    writeFileSync(segment, bytes);

    const mark = peer.output.length;
    await restart();
    await peer.waitForLog(
      /log 'Corrupt': cut \d+ byte\(s\) .*checksum mismatch.*kept up to offset 9/,
      mark,
    );

    const log = await readLog(client, 'Corrupt');
    expect(log.map((m) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `entry ${i}`));
    expect(log.map((m) => m.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });
});
