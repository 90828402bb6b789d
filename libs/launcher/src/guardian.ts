/**
 * The guardian: a process of its own that stops what an owner started once
 * that owner is gone, however it went (a test runner killed with -9 runs no
 * teardown, and a service paused with SIGSTOP cannot notice its lifeline
 * close). Owners report each process they start, one JSON line per event:
 * `{"add": pid, "readyFile": path}` when started, `{"remove": pid}` once it
 * has exited. When an owner's stream ends, whatever it reported and did not
 * remove gets SIGCONT and SIGTERM, then SIGKILL after a grace period.
 *
 * Its standard input is the stream of the owner that started it. With
 * `--listen PATH` it also accepts further owners on that Unix socket (the
 * jest run starts one guardian and every test worker connects to it); when
 * standard input ends, every owner's processes go, and the guardian exits.
 */
import { existsSync, readFileSync, rmSync } from 'fs';
import { Socket, createServer } from 'net';
import { Readable } from 'stream';
import { createInterface } from 'readline';
import { readyFileTemporary } from './contract';

/** Between SIGTERM (a graceful shutdown) and SIGKILL. */
const GRACE_MS = 3_000;
const POLL_MS = 50;

interface Ward {
  pid: number;
  /** From /proc: tells the process apart from a later one given the same pid. */
  startTime?: string;
  command: string;
  readyFile?: string;
}

const HAS_PROC = existsSync('/proc/self/stat');

/** State and start time from /proc/<pid>/stat (fields 3 and 22), undefined once it is gone. */
function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '?';
  }
}

function isAlive(ward: Ward): boolean {
  if (!HAS_PROC) {
    try {
      process.kill(ward.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  const stat = procStat(ward.pid);
  // A zombie has exited; only its parent's wait() is missing.
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === ward.startTime;
}

function signal(ward: Ward, name: NodeJS.Signals): void {
  try {
    process.kill(ward.pid, name);
  } catch {
    // Gone meanwhile.
  }
}

/** Stops every ward still alive; resolves once none is. */
async function stopAll(wards: Ward[]): Promise<void> {
  const alive = wards.filter(isAlive);
  if (alive.length > 0) {
    process.stderr.write(
      `guardian: stopping ${alive.length} process(es) their owner left running:\n` +
        alive.map((ward) => `  ${ward.pid} ${ward.command}\n`).join(''),
    );
  }
  for (const ward of alive) {
    // A paused process acts on nothing but SIGKILL until it is continued.
    signal(ward, 'SIGCONT');
    signal(ward, 'SIGTERM');
  }
  const deadline = Date.now() + GRACE_MS;
  while (alive.some(isAlive) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  for (const ward of alive) if (isAlive(ward)) signal(ward, 'SIGKILL');
  for (const { readyFile, pid } of wards) {
    if (!readyFile) continue;
    rmSync(readyFile, { force: true });
    rmSync(readyFileTemporary(readyFile, pid), { force: true });
  }
}

function wardOf(pid: number, readyFile?: string): Ward | undefined {
  const stat = procStat(pid);
  // Already gone before we heard of it: nothing to guard.
  if (HAS_PROC && !stat) return undefined;
  return { pid, startTime: stat?.startTime, command: commandOf(pid), readyFile };
}

/** One owner: itself and the processes it reported, stopped when its stream ends. */
interface Owner {
  self?: Ward;
  wards: Map<number, Ward>;
}

function watchOwner(stream: Readable, onEnd: (wards: Ward[]) => void): Owner {
  const owner: Owner = { wards: new Map() };
  const { wards } = owner;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd([...wards.values()]);
  };
  createInterface({ input: stream })
    .on('line', (line) => {
      let event: { owner?: number; add?: number; remove?: number; readyFile?: string };
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof event.owner === 'number') owner.self = wardOf(event.owner);
      if (typeof event.remove === 'number') wards.delete(event.remove);
      if (typeof event.add === 'number') {
        const ward = wardOf(event.add, event.readyFile);
        if (ward) wards.set(ward.pid, ward);
      }
    })
    .on('close', end);
  stream.on('error', end);
  return owner;
}

function main(): void {
  // Ctrl-C in a terminal is for the owner; the guardian acts once the owner is gone.
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);

  const owners = new Set<Owner>();
  // The owner at the other end of standard input, who may also connect (a
  // jest runner running tests in band): its end is what we act on, not a
  // process to stop.
  const rootPid = process.ppid;
  const listenAt = process.argv.indexOf('--listen');
  const socketPath = listenAt > 0 ? process.argv[listenAt + 1] : undefined;
  const server = createServer((socket: Socket) => {
    const owner = watchOwner(socket, (left) => {
      owners.delete(owner);
      void stopAll(left);
    });
    owners.add(owner);
  });

  const root = watchOwner(process.stdin, () => {
    server.close();
    const everyone = [...owners].flatMap((owner) => [
      ...(owner.self && owner.self.pid !== rootPid ? [owner.self] : []),
      ...owner.wards.values(),
    ]);
    void stopAll(everyone).finally(() => {
      if (socketPath) rmSync(socketPath, { force: true });
      process.exit(0);
    });
  });
  owners.add(root);

  if (socketPath) {
    rmSync(socketPath, { force: true });
    server.listen(socketPath, () => process.stdout.write('listening\n'));
  }
}

main();
