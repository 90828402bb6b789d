import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { waitFor } from './wait';

/** Jest runs from the repository root (its rootDir). */
const ROOT = process.cwd();

/** Where `npm run build` puts each app's entry point (Nest monorepo, tsc builder). */
export const ENTRY = {
  indexer: join(ROOT, 'dist/apps/indexer/main.js'),
  peer: join(ROOT, 'dist/apps/peer/main.js'),
  cli: join(ROOT, 'dist/apps/cli/main.js'),
  bench: join(ROOT, 'dist/apps/bench/main.js'),
};

const LISTENING = /listening on [^\s]+:(\d+)/;

/**
 * A real indexer or peer process. Its port is whatever it bound (tests pass
 * port 0, so no port is ever assumed free) and is read from its log.
 */
export class ServiceProcess {
  readonly output: string[] = [];
  port = 0;
  exitCode: number | null | undefined = undefined;
  private child?: ChildProcess;
  private exited?: Promise<void>;

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  /**
   * Starts the process and resolves once it is listening. `extraArgs` come
   * last and win: a restart on the same port passes `--port <its old port>`
   * (released by this very process, so it is free).
   */
  async start(extraArgs: string[] = []): Promise<this> {
    this.exitCode = undefined;
    const child = spawn(process.execPath, [this.entry, ...this.args, ...extraArgs], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve();
      }),
    );
    const collect = (chunk: Buffer) =>
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const mark = this.output.length;
    // Stop waiting as soon as the process exits instead of at the deadline.
    const line = await waitFor(
      () =>
        this.exitCode !== undefined
          ? 'exited'
          : this.output.slice(mark).find((entry) => LISTENING.test(entry)),
      { what: `${this.name} to listen` },
    );
    if (line === 'exited') throw new Error(`${this.name} exited: ${this.output.join('\n')}`);
    this.port = Number(LISTENING.exec(line)![1]);
    return this;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitCode === undefined;
  }

  /** Resolves with the first log line after `from` matching `pattern`. */
  waitForLog(pattern: RegExp, from = 0, timeoutMs = 15_000): Promise<string> {
    return waitFor(() => this.output.slice(from).find((line) => pattern.test(line)), {
      timeoutMs,
      what: `${this.name} to log ${pattern}`,
    });
  }

  /** Sends `signal` without waiting for anything (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** Sends `signal` and waits for the exit; returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null | undefined> {
    if (!this.running) return this.exitCode;
    this.child!.kill(signal);
    await this.exited;
    return this.exitCode;
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

/** Starts a peer and waits until the indexer has registered it. */
export async function startRegisteredPeer(
  peer: ServiceProcess,
  extraArgs: string[] = [],
): Promise<ServiceProcess> {
  const mark = peer.output.length;
  await peer.start(extraArgs);
  await peer.waitForLog(/registered with the indexer/, mark);
  return peer;
}
