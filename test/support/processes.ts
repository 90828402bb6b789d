/**
 * Real indexer and peer processes for the e2e suites, started through the
 * one launcher (@p2p-pubsub/launcher) that the bench and `npm start` use too.
 *
 *   const indexer = await indexerProcess().start();      // resolves once it listens
 *   const peer = await peerProcess('p1', indexer.port, ['--data-dir', dir]).start();
 *                                                         // ...once it is registered
 *   indexer.port, peer.port                               // bound ports (everything runs on port 0)
 *   await peer.start([], 'listening')                     // a peer whose indexer is not up yet
 *   await peer.restart('SIGKILL')                         // kill -9, then start again on the same
 *                                                         // port, same arguments (same --data-dir)
 *   peer.signal('SIGSTOP'); peer.signal('SIGCONT')
 *   await peer.stop()                                     // SIGTERM (SIGKILL past the deadline);
 *                                                         // resolves with { code, signal }
 *   await peer.waitForLog(/pattern/, mark)                // a log line after output line `mark`
 *   startCluster(n, options)                              // cluster.ts: an indexer, n registered
 *                                                         // peers and their clients; stop()
 *   await runToEnd({ script: ENTRY.cli, args, input })    // a client process (the CLI, npm, tsc)
 *                                                         // run to its end: { code, stdout, stderr }
 *
 * Readiness comes from each process's ready file, never from its log. No
 * process outlives its test file: a start that fails or times out kills its
 * child before throwing, setup.ts stops whatever a file left running, each
 * process exits when its lifeline (the launcher's pipe) closes, and the
 * run's guardian (global-setup.ts) stops what is left if the runner itself
 * is killed, paused processes included.
 */
import { LaunchOptions, LaunchedProcess, Readiness } from '@p2p-pubsub/launcher';
import { join } from 'path';
import { DEADLINE_MS } from './deadline';

/** Jest runs from the repository root (its rootDir). */
const ROOT = process.cwd();

/** Where `npm run build` puts each app's entry point. */
export const ENTRY = {
  indexer: join(ROOT, 'dist/apps/indexer/main.js'),
  peer: join(ROOT, 'dist/apps/peer/main.js'),
  cli: join(ROOT, 'dist/apps/cli/main.js'),
  bench: join(ROOT, 'dist/apps/bench/main.js'),
};

/** A real indexer or peer process; its port is whatever it bound. */
export class ServiceProcess extends LaunchedProcess {
  constructor(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    super({
      name,
      script,
      args,
      env,
      cwd: ROOT,
      startTimeoutMs: DEADLINE_MS,
      stopTimeoutMs: DEADLINE_MS,
    });
  }

  /**
   * Starts the process; resolves once it is ready (a peer: registered), or
   * only listening with `'listening'`. `extraArgs` come last and win.
   */
  override start(extraArgs: string[] = [], readiness: Readiness = 'ready'): Promise<this> {
    // Started again on the TCP port it had, a service would take its default
    // ops port (TCP port + 1000), which something else may hold: it takes the
    // ops port it had too (released by this very process, so it is free).
    const previousOpsPort = this.opsPort;
    const samePort = extraArgs.includes('--port') && !extraArgs.includes('--ops-port');
    const args =
      samePort && previousOpsPort !== undefined
        ? [...extraArgs, '--ops-port', String(previousOpsPort)]
        : extraArgs;
    return super.start(args, readiness);
  }

  /**
   * Stops the process with `signal` and starts it again on the port it had
   * (released by this very process, so it is free), with the same arguments.
   */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<this> {
    const port = this.port;
    await this.stop(signal);
    return this.start(['--port', String(port)]);
  }

  /** The ops HTTP port (health, metrics) from the ready report; undefined when it is off. */
  get opsPort(): number | undefined {
    return this.report?.opsPort;
  }

  /** Resolves with the first log line after line `from` matching `pattern`. */
  waitForLog(pattern: RegExp, from = 0): Promise<string> {
    return this.waitForOutput(pattern, from, DEADLINE_MS);
  }
}

export function indexerProcess(args: string[] = [], env: NodeJS.ProcessEnv = {}): ServiceProcess {
  return new ServiceProcess('indexer', ENTRY.indexer, ['--port', '0', ...args], env);
}

export function peerProcess(
  name: string,
  indexerPort: number,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): ServiceProcess {
  return new ServiceProcess(
    name,
    ENTRY.peer,
    ['--port', '0', '--indexer-port', String(indexerPort), ...args],
    env,
  );
}

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a client process (a node `script` or a `command`) to its end through
 * the launcher, so that it too dies with the test; `input` is fed to its
 * standard input. Fails, having killed it, if it has not ended within
 * `timeoutMs` (the deadline unless given).
 */
export async function runToEnd(
  options: Pick<LaunchOptions, 'script' | 'command' | 'args' | 'cwd' | 'env' | 'input'> & {
    timeoutMs?: number;
  },
): Promise<Outcome> {
  const { timeoutMs = DEADLINE_MS, ...launch } = options;
  const captured = { stdout: '', stderr: '' };
  const child = new LaunchedProcess({
    name: [options.script ?? options.command, ...(options.args ?? [])].join(' '),
    cwd: ROOT,
    ...launch,
    readiness: 'spawned',
    input: launch.input ?? '',
    onData: (text, stream) => (captured[stream] += text),
  });
  await child.start();
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), timeoutMs);
  });
  const ended = await Promise.race([child.whenExited(), overdue]);
  clearTimeout(timer);
  if (ended === 'overdue') {
    await child.kill();
    throw child.failure(`did not end within ${timeoutMs} ms`);
  }
  return { ...ended, ...captured };
}
