// Guards the health endpoints an orchestrator acts on: /health/ready must
// say 503, naming the failed check, for as long as a peer is not registered
// with the indexer (started before it, or after the indexer went away), and
// 200 once it is; /health/live answers whenever the process does; the
// indexer is ready once it accepts registrations; OPS_PORT=0 leaves no ops
// port at all.
import { httpGet } from './support/ops';
import { indexerProcess, peerProcess } from './support/processes';
import { waitFor } from './support/wait';

interface HealthBody {
  status: string;
  error: Record<string, { status: string; message?: string }>;
  details: Record<string, { status: string }>;
}

async function ready(port: number): Promise<{ status: number; body: HealthBody }> {
  const reply = await httpGet(port, '/health/ready');
  return { status: reply.status, body: JSON.parse(reply.body) as HealthBody };
}

describe('readiness', () => {
  it('is 503 naming the indexer check while a peer is not registered, 200 once it is, and 503 again when the indexer goes', async () => {
    // A port the indexer can have, free for the peer to retry against until then.
    const probe = await indexerProcess().start();
    const indexerPort = probe.port;
    await probe.stop();

    const peer = peerProcess('early-peer', indexerPort, [
      '--heartbeat-interval-ms',
      '100',
      '--request-timeout-ms',
      '500',
    ]);
    await peer.start([], 'listening');
    const indexer = indexerProcess(['--port', String(indexerPort)]);
    try {
      expect(peer.opsPort).toBeDefined();
      const before = await ready(peer.opsPort!);
      expect(before.status).toBe(503);
      expect(before.body.status).toBe('error');
      expect(before.body.error.indexer).toEqual({
        status: 'down',
        message: 'not registered with the indexer',
      });
      expect(before.body.details.tcp.status).toBe('up');
      expect(before.body.details.storage.status).toBe('up');
      expect((await httpGet(peer.opsPort!, '/health/live')).status).toBe(200);

      await indexer.start();
      const registered = await waitFor(
        async () => {
          const reply = await ready(peer.opsPort!);
          return reply.status === 200 && reply;
        },
        { what: 'the peer to become ready' },
      );
      expect(registered.body.status).toBe('ok');
      expect(Object.keys(registered.body.details)).toEqual(['tcp', 'indexer', 'storage']);

      const indexerReady = await ready(indexer.opsPort!);
      expect(indexerReady.status).toBe(200);
      expect(indexerReady.body.details.registrations).toMatchObject({ status: 'up', peers: 1 });

      await indexer.stop('SIGKILL');
      const lost = await waitFor(
        async () => {
          const reply = await ready(peer.opsPort!);
          return reply.status === 503 && reply;
        },
        { what: 'the peer to notice the indexer is gone' },
      );
      expect(Object.keys(lost.body.error)).toEqual(['indexer']);
    } finally {
      await peer.stop();
      await indexer.stop();
    }
  });

  it('serves no ops port with OPS_PORT=0, and says so at start-up', async () => {
    const indexer = await indexerProcess([], { OPS_PORT: '0' }).start();
    try {
      expect(indexer.opsPort).toBeUndefined();
      expect(indexer.output.join('\n')).toMatch(/listening on 127\.0\.0\.1:\d+; ops port off/);
    } finally {
      await indexer.stop();
    }
  });
});
