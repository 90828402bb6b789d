// Guards against a client that speaks the wire badly: an unknown pattern, a
// malformed or oversized frame, or a connection dropped mid-frame must get an
// error or a closed socket, and the process must keep serving everyone else.
import { PeerClient } from '@p2p-pubsub/client';
import { IndexerPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import { Cluster, startCluster } from './support/cluster';
import { expectCode } from './support/expect-error';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { waitFor } from './support/wait';

describe('the TCP wire under bad input', () => {
  let cluster: Cluster;
  let peer: PeerClient;
  let peerPort: number;

  beforeAll(async () => {
    // A small message limit keeps the frame limit (6 x limit + 64 KiB) small.
    cluster = await startCluster(1, { peerArgs: ['--max-message-bytes', '4096'] });
    peer = cluster.clients[0];
    peerPort = cluster.peers[0].port;
    await peer.createTopic('Wire');
  });

  afterAll(() => cluster?.stop());

  async function stillServes(): Promise<void> {
    const reply = await peer.publish('Wire', 'still here');
    expect(reply.status).toBe('success');
    expect(cluster.peers[0].running).toBe(true);
  }

  it('answers an unknown pattern with an error through a Nest client', async () => {
    const error = await expectCode(peer.send('no_such_pattern', {}), 'UNKNOWN_COMMAND');
    expect(error.message).toMatch(/no_such_pattern/);
    await expectCode(cluster.indexerClient.send('no_such_pattern', {}), 'UNKNOWN_COMMAND');
  });

  it('answers a raw framed request, and an unknown pattern on the same socket', async () => {
    const raw = new RawConnection(peerPort);
    await raw.write(
      nestFrame({
        pattern: PeerPatterns.Publish,
        data: { topic: 'Wire', message: 'raw' },
        id: 'a',
      }),
    );
    await raw.write(nestFrame({ pattern: 'nope', data: {}, id: 'b' }));
    const frames = await waitFor(() => {
      const parsed = parseNestFrames(raw.text).filter((f) => f.isDisposed || f.err);
      return parsed.length >= 2 && parsed;
    });
    expect(frames.find((f) => f.id === 'a')).toMatchObject({
      response: { status: 'success', topic: 'Wire' },
    });
    // The same error shape as every other failure, not Nest's bare string.
    expect(frames.find((f) => f.id === 'b')).toMatchObject({
      status: 'error',
      err: { status: 'error', code: 'UNKNOWN_COMMAND', message: 'Unknown pattern "nope"' },
    });
    raw.destroy();
  });

  it('closes a connection that sends invalid JSON in a frame, and keeps serving', async () => {
    const raw = new RawConnection(peerPort);
    await raw.write('7#{nope!}');
    await waitFor(() => raw.isClosed, { what: 'the server to close the socket' });
    expect(raw.text).toBe('');
    await stillServes();
  });

  it('closes a connection whose frame length is not a number, without a reply', async () => {
    const raw = new RawConnection(peerPort);
    await raw.write('1x2#{}');
    await waitFor(() => raw.isClosed, { what: 'the server to close the socket' });
    expect(raw.text).toBe('');
    await stillServes();
  });

  it('refuses a frame larger than the limit before buffering it all', async () => {
    const raw = new RawConnection(peerPort);
    const huge = 'x'.repeat(200 * 1024);
    await raw
      .write(`${huge.length + 40}#{"pattern":"publish","data":"${huge}`)
      .catch(() => undefined);
    await waitFor(() => raw.isClosed, { what: 'the server to close the socket' });
    await stillServes();
  });

  it('survives a connection dropped mid-frame', async () => {
    for (let i = 0; i < 5; i++) {
      const raw = new RawConnection(peerPort);
      await raw.write('120#{"pattern":"publish","data":{"topic":"Wi');
      raw.destroy();
    }
    await stillServes();
    const rawIndexer = new RawConnection(cluster.indexer.port);
    await rawIndexer.write(`80#{"pattern":"${IndexerPatterns.Lookup}"`);
    rawIndexer.destroy();
    await expect(cluster.indexerClient.listPeers()).resolves.toMatchObject({ status: 'success' });
  });

  it('survives a client that disconnects while its request is in flight', async () => {
    const raw = new RawConnection(peerPort);
    await raw.write(
      nestFrame({ pattern: PeerPatterns.Pull, data: { topic: 'Wire', waitMs: 200 }, id: 'w' }),
    );
    raw.destroy();
    await stillServes();
  });
});
