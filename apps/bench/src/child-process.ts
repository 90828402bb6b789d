import { ChildProcess, spawn } from 'child_process';
import { readFileSync } from 'fs';

export interface ChildOptions {
  /** The program; `process.execPath` (node) unless given. */
  command?: string;
  args: string[];
  /** Node flags before the script (--cpu-prof ...); node children only. */
  nodeFlags?: string[];
  /** The log line that carries the bound port, as its first group; none for a client process. */
  listening?: RegExp;
  /** A later log line that says the process is ready for work (a peer's registration). */
  ready?: RegExp;
  /** Open an IPC channel (the child reports over process.send). */
  ipc?: boolean;
  startTimeoutMs?: number;
  /** What asks it to shut down cleanly; SIGTERM unless given (nats-server exits 0 on SIGINT only). */
  stopSignal?: NodeJS.Signals;
}

/** How each child ended: the e2e test checks that every one did. */
export interface ChildExit {
  name: string;
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const KEPT_LOG_LINES = 40;
const STOP_TIMEOUT_MS = 10_000;

/**
 * One process of the benchmark cluster. Its port is whatever it bound (it is
 * always started on port 0) and is read back from its log. Only the last
 * log lines are kept, for the error message when it fails.
 */
export class ChildService {
  port = 0;
  exit?: ChildExit;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly recentLog: string[] = [];
  private readonly lineWatchers = new Set<(line: string) => void>();

  constructor(
    readonly name: string,
    private readonly options: ChildOptions,
  ) {}

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get running(): boolean {
    return this.child !== undefined && this.exit === undefined;
  }

  /** The IPC channel, for children started with `ipc`. */
  get process(): ChildProcess {
    if (!this.child) throw new Error(`${this.name} is not started`);
    return this.child;
  }

  async start(): Promise<this> {
    const { command = process.execPath, args, nodeFlags = [] } = this.options;
    const child = spawn(command, command === process.execPath ? [...nodeFlags, ...args] : args, {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe', ...(this.options.ipc ? (['ipc'] as const) : [])],
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', (exitCode, signal) => {
        this.exit = { name: this.name, pid: child.pid ?? 0, exitCode, signal };
        for (const watch of this.lineWatchers) watch('');
        resolve();
      }),
    );
    let partial = '';
    const onData = (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        this.recentLog.push(line);
        if (this.recentLog.length > KEPT_LOG_LINES) this.recentLog.shift();
        for (const watch of this.lineWatchers) watch(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);

    const timeoutMs = this.options.startTimeoutMs ?? 30_000;
    if (this.options.listening) {
      const listening = await this.waitForLine(this.options.listening, timeoutMs);
      this.port = Number(listening[1]);
    }
    if (this.options.ready) await this.waitForLine(this.options.ready, timeoutMs);
    return this;
  }

  /** Memory of the running process as the kernel accounts it, in MiB. */
  memory(): { peakRssMiB: number; rssMiB: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { peakRssMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024 };
  }

  /** A graceful shutdown, then SIGKILL if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill(this.options.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => this.child!.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort, for the bench's own exit. */
  killNow(): void {
    if (this.running) this.child!.kill('SIGKILL');
  }

  private waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const finish = (error?: Error, match?: RegExpExecArray) => {
        clearTimeout(timer);
        this.lineWatchers.delete(watch);
        if (error) reject(error);
        else resolve(match!);
      };
      const watch = (line: string) => {
        const match = pattern.exec(line);
        if (match) finish(undefined, match);
        else if (this.exit)
          finish(this.failure(`exited (${this.exit.exitCode ?? this.exit.signal})`));
      };
      const timer = setTimeout(
        () => finish(this.failure(`did not log ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.lineWatchers.add(watch);
      for (const line of this.recentLog) watch(line);
    });
  }

  private failure(what: string): Error {
    return new Error(`${this.name} ${what}; its last lines:\n${this.recentLog.join('\n')}`);
  }
}

/**
 * Every process the bench started, so that all of them are stopped at the
 * end, on an error and on Ctrl-C alike.
 */
export class ChildGroup {
  private readonly children: ChildService[] = [];

  add<T extends ChildService>(child: T): T {
    this.children.push(child);
    return child;
  }

  /** Stops the named children first (peers unregister from a live indexer), then the rest. */
  async stopAll(first: (child: ChildService) => boolean = () => false): Promise<void> {
    await Promise.all(this.children.filter(first).map((child) => child.stop()));
    await Promise.all(this.children.map((child) => child.stop()));
  }

  killNow(): void {
    for (const child of this.children) child.killNow();
  }

  exits(): ChildExit[] {
    return this.children.map(
      (child) =>
        child.exit ?? {
          name: child.name,
          pid: child.pid,
          exitCode: null,
          signal: null,
        },
    );
  }
}
