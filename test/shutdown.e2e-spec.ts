// Guards start-up order and shutdown: a peer started before the indexer must
// keep trying to register, and SIGTERM must unregister and exit 0.
import { indexerClient } from './support/clients';
import { indexerProcess, peerProcess } from './support/processes';
import { waitFor } from './support/wait';

describe('process lifecycle', () => {
  it('registers a peer started before the indexer once the indexer comes up', async () => {
    // Learn a port the indexer can have, then free it for the peer to retry against.
    const firstIndexer = await indexerProcess().start();
    const indexerPort = firstIndexer.port;
    await firstIndexer.stop();

    const peer = peerProcess('early-peer', indexerPort, ['--request-timeout-ms', '500']);
    await peer.start([], 'listening');
    await peer.waitForLog(/indexer unreachable/);
    expect(peer.readReport()).toMatchObject({ listening: true, registered: false, ready: false });

    const indexer = await indexerProcess(['--port', String(indexerPort)]).start();
    const client = indexerClient(indexer.port);
    try {
      await peer.waitUntilReady();
      expect(peer.report).toMatchObject({ registered: true, peerId: `127.0.0.1:${peer.port}` });
      const peers = await client.listPeers();
      expect(peers.peers.map((p) => p.port)).toEqual([peer.port]);
    } finally {
      await client.close();
      await peer.stop();
      await indexer.stop();
    }
  });

  it('unregisters on SIGTERM and exits 0', async () => {
    const indexer = await indexerProcess().start();
    const peer = await peerProcess('leaving-peer', indexer.port).start();
    const client = indexerClient(indexer.port);
    try {
      expect((await client.listPeers()).peers).toHaveLength(1);
      expect(await peer.stop('SIGTERM')).toEqual({ code: 0, signal: null });
      expect(peer.output.some((line) => /unregistered from the indexer/.test(line))).toBe(true);
      await waitFor(async () => (await client.listPeers()).peers.length === 0);
    } finally {
      await client.close();
      expect(await indexer.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses a bad configuration value with a message naming the variable', async () => {
    const peer = peerProcess('bad-config', 1, [], { REQUEST_TIMEOUT_MS: 'soon' });
    await expect(peer.start()).rejects.toThrow(
      /REQUEST_TIMEOUT_MS \(--request-timeout-ms\) = 'soon'/,
    );
    expect(peer.exit).toEqual({ code: 2, signal: null });
  });
});
