import { ChildProcess, spawn } from 'child_process';
import { readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { LIFELINE_ENV, READY_FILE_ENV, ReadyReport, readyFileTemporary } from './contract';
import { guardianLink } from './guardian-link';

/**
 * What `start()` waits for:
 * - `ready`: the ready file says `ready` (a peer: listening and registered);
 * - `listening`: the ready file exists (a peer that cannot reach its indexer yet);
 * - `spawned`: nothing (a client process, or one that reports over IPC);
 * - a probe, polled until it returns the bound port (a program without a
 *   ready file: nats-server writes a ports file of its own).
 */
export type Readiness =
  'ready' | 'listening' | 'spawned' | ((process: LaunchedProcess) => number | undefined);

export interface LaunchOptions {
  /** Names the process in failure messages. */
  name: string;
  /** A node script, run by the same node as this process... */
  script?: string;
  /** ...or any other program. */
  command?: string;
  args?: string[];
  /** Node flags before the script (--cpu-prof ...). */
  nodeFlags?: string[];
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Default `ready`. */
  readiness?: Readiness;
  /** Opens an IPC channel (`process.send` in the child, `on('message')` here). */
  ipc?: boolean;
  /** Bound on `start()`; past it the child is killed and start fails. Default 30 s. */
  startTimeoutMs?: number;
  /** Bound on a graceful `stop()` before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /** What asks it to shut down cleanly; SIGTERM unless given (nats-server exits 0 on SIGINT only). */
  stopSignal?: NodeJS.Signals;
  /** Output lines kept (for failure messages and `waitForOutput`); all unless given. */
  keepLines?: number;
  /** Sees every output line as it arrives (`npm start` prints them). */
  onLine?: (line: string) => void;
  /** Sees the output as it arrives, unsplit, stream by stream. */
  onData?: (text: string, stream: 'stdout' | 'stderr') => void;
  /**
   * For a client process that reads its standard input: written there, which
   * is then closed. Standard input is then no lifeline (LIFELINE is not set);
   * the guardian still stops the process if its owner dies.
   */
  input?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const POLL_MS = 25;
const FAILURE_LINES = 80;
const running = new Set<LaunchedProcess>();
let sequence = 0;

/** Every process this module started that has not exited yet (the tests' safety net stops them). */
export function runningProcesses(): LaunchedProcess[] {
  return [...running];
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One child process of the tests, the bench or `npm start`. It is started
 * with a ready file and a lifeline (see contract.ts), in a session of its own
 * so that a terminal's Ctrl-C reaches only its owner, which stops it in
 * order; and it is reported to the guardian, which stops it if the owner
 * dies first. It can be started again after it exits (a restart on the same
 * port and data directory passes `--port <old port>` as an extra argument).
 */
export class LaunchedProcess {
  /** Output lines, stdout and stderr interleaved as they arrived. */
  readonly output: string[] = [];
  /** The bound port, from the ready file or the probe. */
  port = 0;
  /** The last ready report read. */
  report?: ReadyReport;
  /** Set once the current run exited. */
  exit?: ExitStatus;
  private child?: ChildProcess;
  private exited?: Promise<ExitStatus>;
  private readyFile?: string;

  constructor(readonly options: LaunchOptions) {}

  get name(): string {
    return this.options.name;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get running(): boolean {
    return this.child !== undefined && this.exit === undefined;
  }

  /** The child process itself, for its IPC channel. */
  get process(): ChildProcess {
    if (!this.child) throw new Error(`${this.name} is not started`);
    return this.child;
  }

  /**
   * Starts the process and resolves once it is ready (see Readiness), with
   * `extraArgs` after its own. If it exits first, or is not ready in time,
   * start fails with its output, and nothing is left running.
   */
  async start(
    extraArgs: string[] = [],
    readiness: Readiness = this.options.readiness ?? 'ready',
  ): Promise<this> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const { options } = this;
    this.exit = undefined;
    this.report = undefined;
    this.port = 0;
    this.readyFile =
      readiness === 'ready' || readiness === 'listening'
        ? join(
            tmpdir(),
            `p2p-ready-${process.pid}-${++sequence}-${this.name.replace(/\W/g, '_')}.json`,
          )
        : undefined;

    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...options.env };
    delete env[LIFELINE_ENV];
    if (options.input === undefined) env[LIFELINE_ENV] = 'stdin';
    delete env[READY_FILE_ENV];
    if (this.readyFile) env[READY_FILE_ENV] = this.readyFile;
    const [command, args] = options.script
      ? [
          process.execPath,
          [...(options.nodeFlags ?? []), options.script, ...(options.args ?? []), ...extraArgs],
        ]
      : [options.command!, [...(options.args ?? []), ...extraArgs]];

    const child = spawn(command, args, {
      cwd: options.cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
      detached: true,
    });
    this.child = child;
    if (child.pid !== undefined) {
      running.add(this);
      guardianLink.add(child.pid, this.readyFile);
    }
    // The lifeline: never written, closed by our exit. A child gone early makes it EPIPE.
    child.stdin!.on('error', () => undefined);
    if (options.input !== undefined) child.stdin!.end(options.input);
    this.collectOutput(child);
    this.exited = this.watchExit(child);

    try {
      await this.waitUntil(readiness, options.startTimeoutMs ?? 30_000);
    } catch (error) {
      await this.kill();
      throw error;
    }
    return this;
  }

  /**
   * Re-reads the ready file and waits until it says ready again (a peer
   * registered again after its indexer came back).
   */
  waitUntilReady(timeoutMs = this.options.startTimeoutMs ?? 30_000): Promise<void> {
    return this.waitUntil('ready', timeoutMs);
  }

  /** The ready file as it is now, if it is this run's. */
  readReport(): ReadyReport | undefined {
    if (!this.readyFile) return undefined;
    try {
      const report = JSON.parse(readFileSync(this.readyFile, 'utf8')) as ReadyReport;
      if (report.pid !== this.pid) return undefined;
      this.report = report;
      return report;
    } catch {
      return undefined;
    }
  }

  /** Sends `signal` without waiting for anything (SIGSTOP, SIGCONT, SIGKILL). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /**
   * Asks the process to stop with `signal` (default: its stop signal) and
   * waits for its exit; SIGKILL after the stop bound. A paused process is
   * continued first: it would act on nothing but SIGKILL.
   */
  async stop(
    signal: NodeJS.Signals = this.options.stopSignal ?? 'SIGTERM',
    timeoutMs = this.options.stopTimeoutMs ?? 10_000,
  ): Promise<ExitStatus> {
    if (!this.running) return this.exit ?? { code: null, signal: null };
    const child = this.child!;
    if (signal !== 'SIGKILL') child.kill('SIGCONT');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const status = await this.exited!;
    clearTimeout(timer);
    return status;
  }

  /** Resolves once the current run has exited (at once if it is not running). */
  whenExited(): Promise<ExitStatus> {
    return this.exited ?? Promise.resolve({ code: null, signal: null });
  }

  /** kill -9, and waits for the exit. */
  kill(): Promise<ExitStatus> {
    return this.stop('SIGKILL');
  }

  /** For an exit handler that cannot wait: kill -9 now. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  /** Resolves with the first output line after line `from` that matches. */
  async waitForOutput(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.output.slice(from).find((candidate) => pattern.test(candidate));
      if (line !== undefined) return line;
      if (Date.now() > deadline) {
        throw this.failure(`did not print ${pattern} within ${timeoutMs} ms`);
      }
      await delay(POLL_MS);
    }
  }

  /** An error naming this process, with its last output lines. */
  failure(what: string): Error {
    const lines = this.output.slice(-FAILURE_LINES);
    return new Error(`${this.name} ${what}; its last output:\n${lines.join('\n')}`);
  }

  private async waitUntil(readiness: Readiness, timeoutMs: number): Promise<void> {
    if (readiness === 'spawned') {
      // An immediate failure to spawn (no such program) shows as an exit.
      await Promise.race([this.exited, delay(0)]);
      if (this.exit) throw this.failure(`could not start (${describe(this.exit)})`);
      return;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exit) throw this.failure(`exited (${describe(this.exit)}) before it was ready`);
      const port = this.probe(readiness);
      if (port !== undefined) {
        this.port = port;
        return;
      }
      if (Date.now() > deadline) throw this.failure(`was not ready within ${timeoutMs} ms`);
      await Promise.race([this.exited, delay(POLL_MS)]);
    }
  }

  private probe(readiness: Readiness): number | undefined {
    if (typeof readiness === 'function') return readiness(this);
    const report = this.readReport();
    if (!report) return undefined;
    return readiness === 'listening' || report.ready ? report.port : undefined;
  }

  private collectOutput(child: ChildProcess): void {
    const keep = this.options.keepLines ?? Infinity;
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      const take = (line: string) => {
        this.output.push(line);
        if (this.output.length > keep) this.output.shift();
        this.options.onLine?.(line);
      };
      const name = stream === child.stdout ? 'stdout' : 'stderr';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.options.onData?.(chunk, name);
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        lines.forEach(take);
      });
      stream.on('end', () => {
        if (partial) take(partial);
        partial = '';
      });
    }
  }

  private watchExit(child: ChildProcess): Promise<ExitStatus> {
    return new Promise((resolve) => {
      const finish = (status: ExitStatus) => {
        if (this.child !== child || this.exit) return;
        this.exit = status;
        running.delete(this);
        if (child.pid !== undefined) guardianLink.remove(child.pid);
        if (this.readyFile) {
          // A process killed between writing its report and renaming it leaves the temporary file.
          rmSync(this.readyFile, { force: true });
          if (child.pid !== undefined) {
            rmSync(readyFileTemporary(this.readyFile, child.pid), { force: true });
          }
        }
        resolve(status);
      };
      // 'close' comes once its output is all read; 'exit' alone would lose the
      // last lines (a configuration error's message). A grandchild holding the
      // pipes open must not hold this up, hence the bound after 'exit'.
      child.once('close', (code, signal) => finish({ code, signal }));
      child.once('exit', (code, signal) => {
        setTimeout(() => finish({ code, signal }), 1_000).unref();
      });
      child.once('error', (error) => {
        if (child.pid !== undefined) return;
        this.output.push(`${error.message}`);
        finish({ code: null, signal: null });
      });
    });
  }
}

function describe(status: ExitStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}
