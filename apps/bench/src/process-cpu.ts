import { readFileSync } from 'fs';

/** Linux's USER_HZ, the unit of CPU times in /proc/<pid>/stat: 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a running process has used, in microseconds. */
export function cpuMicrosOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}

/**
 * CPU time of this process and of every process in `pids`, summed: what a
 * run costs the whole machine, publisher and brokers and subscribers alike.
 */
export function cpuMicrosOfAll(pids: readonly number[]): number {
  const own = process.cpuUsage();
  return own.user + own.system + pids.reduce((sum, pid) => sum + cpuMicrosOf(pid), 0);
}

/** Runs `work` and returns its result with the CPU microseconds all of `pids` (and this process) spent. */
export async function withCpu<T>(
  pids: readonly number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpuMicros: number }> {
  const before = cpuMicrosOfAll(pids);
  const result = await work();
  return { result, cpuMicros: cpuMicrosOfAll(pids) - before };
}
