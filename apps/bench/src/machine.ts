import { execFileSync } from 'child_process';
import { cpus, loadavg, release, totalmem } from 'os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  natsServer?: string;
  /** One-minute load average when the bench started and when it ended. */
  loadBefore: number;
  loadAfter?: number;
}

export function describeMachine(natsServerBinary?: string): MachineInfo {
  const processors = cpus();
  return {
    cpu: processors[0]?.model.trim() ?? 'unknown',
    cores: processors.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    natsServer: natsServerBinary ? natsServerVersion(natsServerBinary) : undefined,
    loadBefore: loadavg()[0],
  };
}

export function machineLine(machine: MachineInfo): string {
  const load = `load average ${machine.loadBefore.toFixed(2)} before, ${machine.loadAfter?.toFixed(2) ?? '?'} after`;
  return `${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}; ${load}`;
}

function natsServerVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
