// Guards the command-line client: every command reaches the cluster, prints
// the reply as JSON, and an error exits non-zero with the error's code.
import { execFile } from 'child_process';
import { promisify } from 'util';
import { Cluster, startCluster } from './support/cluster';
import { ENTRY } from './support/processes';
import { waitFor } from './support/wait';

const run = promisify(execFile);

describe('the pubsub CLI', () => {
  let cluster: Cluster;
  let peerArg: (i: number) => string[];

  beforeAll(async () => {
    cluster = await startCluster(2);
    peerArg = (i) => ['--peer', `127.0.0.1:${cluster.peers[i].port}`];
  });

  afterAll(() => cluster?.stop());

  async function cli(...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await run(process.execPath, [ENTRY.cli, ...args]);
    return JSON.parse(stdout);
  }

  it('creates, subscribes, publishes and pulls', async () => {
    expect(await cli('create-topic', 'Sports', ...peerArg(0))).toMatchObject({
      message: "Topic 'Sports' created",
    });
    expect(await cli('subscribe', 'Sports', '--from', 'earliest', ...peerArg(1))).toMatchObject({
      status: 'success',
    });
    expect(await cli('publish', 'Sports', 'Football match tonight!', ...peerArg(1))).toMatchObject({
      offset: 0,
    });
    const pulled = await waitFor(async () => {
      const reply = (await cli('pull', 'Sports', '--max', '10', ...peerArg(1))) as {
        messages: Array<{ message: string }>;
      };
      return reply.messages.length > 0 && reply.messages;
    });
    expect(pulled.map((m) => m.message)).toEqual(['Football match tonight!']);
    const lookup = await cli('lookup', 'Sports', '--indexer', `127.0.0.1:${cluster.indexer.port}`);
    expect(lookup).toMatchObject({ topic: 'Sports', port: cluster.peers[0].port });
  });

  it('prints the error and exits 1 when the call fails', async () => {
    const failure = await run(process.execPath, [
      ENTRY.cli,
      'publish',
      'Nowhere',
      'x',
      ...peerArg(0),
    ]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(JSON.parse(failure!.stderr)).toEqual({
      status: 'error',
      code: 'TOPIC_NOT_FOUND',
      message: "Topic 'Nowhere' not found",
    });
  });

  it('exits 2 with usage on a wrong command', async () => {
    const failure = await run(process.execPath, [ENTRY.cli, 'frobnicate']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
