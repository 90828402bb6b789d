// Guards the command-line client: every command reaches the cluster and
// prints the reply as JSON; `pub` reads stdin one message per line; `sub`
// follows a topic until Ctrl-C in raw, JSON and kcat-style formats; help
// exits 0; a mistake names what is missing and exits 2; a call that fails
// prints the error's code and exits 1.
import { LaunchedProcess } from '@p2p-pubsub/launcher';
import { Cluster, startCluster } from './support/cluster';
import { ENTRY, Outcome, runToEnd } from './support/processes';
import { waitFor } from './support/wait';

/** Runs the CLI to its end, feeding `input` on stdin. */
function cli(args: string[], { input = '', env = {} } = {}): Promise<Outcome> {
  return runToEnd({ script: ENTRY.cli, args, input, env });
}

describe('the pubsub CLI', () => {
  let cluster: Cluster;
  let peerArg: (i: number) => string[];

  beforeAll(async () => {
    cluster = await startCluster(2);
    peerArg = (i) => ['--peer', `127.0.0.1:${cluster.peers[i].port}`];
  });

  afterAll(() => cluster?.stop());

  async function json(...args: string[]): Promise<Record<string, unknown>> {
    const outcome = await cli(args);
    if (outcome.code !== 0) throw new Error(`pubsub ${args.join(' ')}: ${outcome.stderr}`);
    return JSON.parse(outcome.stdout);
  }

  it('creates, subscribes, publishes and pulls', async () => {
    expect(await json('create-topic', 'Sports', ...peerArg(0))).toMatchObject({
      message: "Topic 'Sports' created",
    });
    expect(await json('subscribe', 'Sports', '--from', 'earliest', ...peerArg(1))).toMatchObject({
      status: 'success',
    });
    expect(await json('publish', 'Sports', 'Football match tonight!', ...peerArg(1))).toMatchObject(
      { offset: 0 },
    );
    const pulled = await waitFor(async () => {
      const reply = (await json('pull', 'Sports', '--max', '10', ...peerArg(1))) as {
        messages: Array<{ message: string }>;
      };
      return reply.messages.length > 0 && reply.messages;
    });
    expect(pulled.map((m) => m.message)).toEqual(['Football match tonight!']);
    const lookup = await json('lookup', 'Sports', '--indexer', `127.0.0.1:${cluster.indexer.port}`);
    expect(lookup).toMatchObject({ topic: 'Sports', port: cluster.peers[0].port });
  });

  it('takes the peer from PUBSUB_PEER when --peer is absent', async () => {
    const outcome = await cli(['create-topic', 'FromEnv'], {
      env: { PUBSUB_PEER: `127.0.0.1:${cluster.peers[0].port}` },
    });
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ topic: 'FromEnv' });
  });

  it('publishes a message that starts with a dash after --, wherever -- stands', async () => {
    await cluster.clients[0].createTopic('Weather');
    const after = await cli(['pub', 'Weather', ...peerArg(0), '--', '-5 degrees']);
    const before = await cli(['--', 'pub', 'Weather', '-6 degrees'], {
      env: { PUBSUB_PEER: `127.0.0.1:${cluster.peers[0].port}` },
    });
    expect([after.code, before.code]).toEqual([0, 0]);
    const { messages } = await cluster.clients[0].pull('Weather', { consumer: 'dash' });
    expect(messages.map((m) => m.message)).toEqual(['-5 degrees', '-6 degrees']);
  });

  it('publishes each line of stdin as one message, stopping after --count', async () => {
    await cluster.clients[0].createTopic('Lines');
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    const all = await cli(['pub', 'Lines', ...peerArg(0)], { input: `${lines.join('\n')}\n` });
    expect(all.code).toBe(0);
    expect(all.stderr).toMatch(/published 1000 message\(s\) to 'Lines'/);
    const some = await cli(['pub', 'Lines', '--count', '3', ...peerArg(0)], {
      input: 'a\nb\nc\nd\n',
    });
    expect(some.stderr).toMatch(/published 3 message\(s\)/);
    const { messages } = await cluster.clients[0].pull('Lines', { max: 1000 });
    const more = await cluster.clients[0].pull('Lines', { max: 1000 });
    expect([...messages, ...more.messages].map((m) => m.message)).toEqual([
      ...lines,
      'a',
      'b',
      'c',
    ]);
  });

  it('stops publishing stdin at the first failure and exits 1 with its code', async () => {
    const outcome = await cli(['pub', 'NoSuchTopic', ...peerArg(0)], { input: 'x\ny\n' });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/"code": "TOPIC_NOT_FOUND"/);
  });

  it('prints what it follows raw, as JSON lines and in a kcat-style format', async () => {
    await cluster.clients[0].createTopic('Formats');
    for (const message of ['one', 'two']) await cluster.clients[0].publish('Formats', message);
    const from = ['--from', 'earliest', '--count', '2', ...peerArg(1)];
    const raw = await cli(['sub', 'Formats', ...from]);
    expect(raw).toMatchObject({ code: 0, stdout: 'one\ntwo\n' });
    // The first sub subscribed peer 2, and said so.
    expect(raw.stderr).toMatch(/subscribed .* to 'Formats'/);
    const lines = (await cli(['sub', 'Formats', '--json', ...from])).stdout.trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { topic: 'Formats', offset: 0, publishedAt: expect.any(Number), message: 'one' },
      { topic: 'Formats', offset: 1, publishedAt: expect.any(Number), message: 'two' },
    ]);
    const formatted = await cli(['sub', 'Formats', '-f', '%t@%o %s (%S B)\\n', ...from]);
    expect(formatted.stdout).toBe('Formats@0 one (3 B)\nFormats@1 two (3 B)\n');
  });

  it('follows a topic as messages are published, until Ctrl-C', async () => {
    await cluster.clients[0].createTopic('Live');
    let stdout = '';
    const child = await new LaunchedProcess({
      name: 'pubsub sub',
      script: ENTRY.cli,
      args: ['sub', 'Live', ...peerArg(0)],
      readiness: 'spawned',
      onData: (text, stream) => {
        if (stream === 'stdout') stdout += text;
      },
    }).start();
    // It starts at the latest offset: publish until the first one shows up.
    let sent = 0;
    await waitFor(async () => {
      await cluster.clients[0].publish('Live', `live ${sent++}`);
      return stdout.includes('live');
    });
    const first = Number(/live (\d+)/.exec(stdout)![1]);
    await cluster.clients[0].publish('Live', 'last');
    await waitFor(() => stdout.includes('last\n'));
    child.signal('SIGINT');
    expect(await child.whenExited()).toEqual({ code: 0, signal: null });
    const expected = Array.from({ length: sent - first }, (_, i) => `live ${first + i}`);
    expect(stdout).toBe([...expected, 'last', ''].join('\n'));
  });

  it('resumes a named consumer where the last run stopped', async () => {
    await cluster.clients[0].createTopic('Resume');
    for (const message of ['a', 'b', 'c']) await cluster.clients[0].publish('Resume', message);
    const args = ['sub', 'Resume', '--consumer', 'reader', '--count', '2', ...peerArg(0)];
    expect((await cli(args)).stdout).toBe('a\nb\n');
    await cluster.clients[0].publish('Resume', 'd');
    expect((await cli(args)).stdout).toBe('c\nd\n');
  });

  it('prints the error and exits 1 when the call fails', async () => {
    const failure = await cli(['publish', 'Nowhere', 'x', ...peerArg(0)]);
    expect(failure.code).toBe(1);
    expect(JSON.parse(failure.stderr)).toEqual({
      status: 'error',
      code: 'TOPIC_NOT_FOUND',
      message: "Topic 'Nowhere' not found",
    });
  });

  it('exits 0 with usage for --help, help and help <command>', async () => {
    const general = await cli(['--help']);
    expect(general.code).toBe(0);
    expect(general.stdout).toMatch(/sub <topic>/);
    expect(general.stdout).toMatch(/cluster/);
    const help = await cli(['help']);
    expect(help).toMatchObject({ code: 0, stdout: general.stdout });
    const sub = await cli(['help', 'sub']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/Usage: pubsub sub <topic>/);
    expect((await cli(['pub', '--help'])).stdout).toMatch(/Usage: pubsub pub <topic> \[message\]/);
  });

  it('exits 2 naming the missing argument, the unknown command or option', async () => {
    const missing = await cli(['pub']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/pub: missing argument <topic>/);
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
    const dash = await cli(['pub', 'Weather', '-5']);
    expect(dash.code).toBe(2);
    expect(dash.stderr).toMatch(/Unknown option '-5'.*'--'/);
  });
});
