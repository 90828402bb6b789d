import { readFileSync, readdirSync } from 'fs';

export interface ProcInfo {
  pid: number;
  command: string;
}

/**
 * Every process whose environment holds `name=value` (Linux /proc): a marker
 * set on a process is inherited by everything it starts, grandchildren and
 * detached ones included, so no survivor can hide from this.
 */
export function processesWithEnv(name: string, value: string): ProcInfo[] {
  const wanted = `${name}=${value}`;
  const found: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environment.includes(wanted)) continue;
      // A zombie has exited; it only waits for its parent to collect it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      found.push({ pid: Number(entry), command: command.trim() });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Last resort for a failing test: SIGKILL what it found, paused or not. */
export function killAll(processes: ProcInfo[]): void {
  for (const { pid } of processes) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** The live children of `parent` whose command line contains `text`. */
export function childrenOf(parent: number, text: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== parent || state === 'Z') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (command.includes(text)) found.push({ pid: Number(entry), command });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}
