import { renameSync, writeFileSync } from 'fs';

/**
 * The contract between the launcher and what it starts, the child's side of
 * it. The launcher passes two environment variables:
 * - READY_FILE: where the child writes its ReadyReport (JSON) once it is
 *   listening, and again whenever its readiness changes;
 * - LIFELINE=stdin: standard input is a pipe only the launcher holds; it
 *   closes when the launcher exits, however it exits, and the child then
 *   shuts down.
 */
export const READY_FILE_ENV = 'READY_FILE';
export const LIFELINE_ENV = 'LIFELINE';

export interface ReadyReport {
  /** `indexer`, `peer`, `cluster` (npm start), `echo` (the bench's reference). */
  role: string;
  pid: number;
  /** The bind address and the bound port (differs from the configured one when that was 0). */
  host: string;
  port: number;
  /** Listening, and every condition of the role met (a peer: registered with the indexer). */
  ready: boolean;
  /** False once the process has begun to shut down. */
  listening: boolean;
  /** Peers: the id the indexer knows this peer by, once registered. */
  peerId?: string;
  /** Peers: registered with the indexer. */
  registered?: boolean;
  /** The operations (HTTP) port, where the process has one. */
  opsPort?: number;
}

/**
 * Replaces `path` with `report` in one step (a temporary file, then a
 * rename), so that a reader polling the file sees the old report or the new
 * one, never half of one.
 */
export function writeReadyFile(path: string, report: ReadyReport): void {
  const temporary = readyFileTemporary(path, process.pid);
  writeFileSync(temporary, `${JSON.stringify(report)}\n`);
  renameSync(temporary, path);
}

/** Where process `pid` writes its next report before renaming it to `path`. */
export function readyFileTemporary(path: string, pid: number): string {
  return `${path}.${pid}.tmp`;
}

/**
 * Calls `onClosed` once standard input ends, when `lifeline` (a service's
 * LIFELINE setting) is `stdin`; does nothing otherwise. The kernel closes
 * the launcher's end of the pipe when the launcher dies, even by SIGKILL.
 */
export function watchLifeline(lifeline: string | undefined, onClosed: () => void): void {
  if (lifeline !== 'stdin') return;
  let called = false;
  const closed = () => {
    if (called) return;
    called = true;
    onClosed();
  };
  process.stdin.once('end', closed);
  process.stdin.once('error', closed);
  process.stdin.resume();
}
