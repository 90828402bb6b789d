// Guards the command line's parsing, without a cluster: help exits 0, a
// mistake names what is wrong and exits 2, a message that starts with '-'
// is taken after '--' wherever it stands, global options may come before
// the command, and kcat-style formats print what they say.
import { PassThrough } from 'stream';
import { CliCommand } from './cli-command';
import { withHelp } from './commands';
import { customFormat } from './message-format';
import { runCli } from './run-cli';

/** A command that records what it was given instead of calling a peer. */
function recording(): { command: CliCommand; calls: Array<Record<string, unknown>> } {
  const calls: Array<Record<string, unknown>> = [];
  return {
    calls,
    command: {
      name: 'pub',
      aliases: ['publish'],
      args: '<topic> [message]',
      group: 'Peer commands',
      summary: 'publish',
      options: { count: { type: 'string', description: 'n' } },
      async run(context) {
        calls.push({ ...context.args, count: context.options.count, peer: context.options.peer });
        return 0;
      },
    },
  };
}

async function run(argv: string[]) {
  const { command, calls } = recording();
  let stdout = '';
  let stderr = '';
  const out = new PassThrough().on('data', (chunk) => (stdout += chunk));
  const err = new PassThrough().on('data', (chunk) => (stderr += chunk));
  const code = await runCli(withHelp([command]), {
    argv,
    env: {},
    stdin: new PassThrough(),
    stdout: out,
    stderr: err,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr, calls };
}

describe('runCli', () => {
  it.each([[['--help']], [['-h']], [['help']], [['help', 'pub']], [['pub', '--help']]])(
    'exits 0 with usage for %j',
    async (argv) => {
      const outcome = await run(argv);
      expect(outcome.code).toBe(0);
      expect(outcome.stdout).toMatch(/Usage: pubsub/);
      expect(outcome.calls).toEqual([]);
    },
  );

  it('exits 2 without a command, naming what is missing', async () => {
    expect(await run([])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/missing command/),
    });
  });

  it('names the missing argument', async () => {
    const outcome = await run(['pub']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^pubsub: pub: missing argument <topic>/);
    expect(outcome.stderr).toMatch(/Usage: pubsub pub <topic> \[message\]/);
  });

  it('refuses an extra argument and an unknown option', async () => {
    expect((await run(['pub', 'T', 'a', 'b'])).stderr).toMatch(/unexpected argument 'b'/);
    expect((await run(['pub', 'T', '-5'])).stderr).toMatch(/Unknown option '-5'/);
    expect((await run(['frobnicate'])).stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it.each([
    [['pub', 'T', '--', '-5 degrees']],
    [['pub', '--', 'T', '-5 degrees']],
    [['--', 'pub', 'T', '-5 degrees']],
    [['publish', 'T', '--count', '2', '--', '-5 degrees']],
  ])('takes a message that starts with a dash after -- in %j', async (argv) => {
    const outcome = await run(argv);
    expect(outcome.code).toBe(0);
    expect(outcome.calls).toEqual([expect.objectContaining({ topic: 'T', message: '-5 degrees' })]);
  });

  it('takes global options before the command', async () => {
    const outcome = await run(['--peer', 'h:1', 'pub', 'T', 'm']);
    expect(outcome.calls).toEqual([{ topic: 'T', message: 'm', count: undefined, peer: 'h:1' }]);
  });
});

describe('customFormat', () => {
  const message = { offset: 7, message: 'héllo', publishedAt: 1764100000000 };

  it('expands kcat-style tokens and escapes, adding nothing', () => {
    expect(customFormat('%t@%o %s (%S B) %T%%\\t|\\n')('Sports', message)).toBe(
      'Sports@7 héllo (6 B) 1764100000000%\t|\n',
    );
  });

  it('refuses an unknown token', () => {
    expect(() => customFormat('%x')).toThrow(/unknown format token '%x'/);
  });
});
