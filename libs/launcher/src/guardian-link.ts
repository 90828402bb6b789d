import { spawn } from 'child_process';
import { Socket, createConnection } from 'net';
import { join } from 'path';
import { Writable } from 'stream';

/**
 * Where a shared guardian listens (a Unix socket). The e2e run's global setup
 * starts one and sets this for every test worker; processes the launcher
 * starts inherit it, so what they start in turn (`npm start` under test) is
 * guarded by the same guardian.
 */
export const GUARDIAN_ENV = 'P2P_GUARDIAN_SOCKET';

/** The built guardian script, beside this file in dist/. */
export function guardianScript(): string {
  // Under jest (ES modules, from the sources) there is no __dirname, and the
  // global setup's guardian is used instead: see GuardianLink.
  if (typeof __dirname !== 'string') {
    throw new Error(`no guardian: ${GUARDIAN_ENV} is not set and this is not the built launcher`);
  }
  return join(__dirname, 'guardian.js');
}

/**
 * This process's line to its guardian (see guardian.ts): every process the
 * launcher starts is reported on it, and removed once it exited. One per
 * owner process, opened on first use: the shared guardian if GUARDIAN_ENV
 * names one, else a guardian of its own, started detached so that neither
 * Ctrl-C nor this process's death takes it along.
 */
class GuardianLink {
  private stream?: Writable;
  /** The shared guardian could not be reached: this process starts its own. */
  private sharedGone = false;
  /** What the guardian was told, to tell a replacement if the shared one is gone. */
  private readonly wards = new Map<number, string | undefined>();

  add(pid: number, readyFile?: string): void {
    this.wards.set(pid, readyFile);
    this.send({ add: pid, readyFile });
  }

  remove(pid: number): void {
    if (!this.wards.delete(pid)) return;
    this.send({ remove: pid });
  }

  private send(event: object): void {
    this.open().write(`${JSON.stringify(event)}\n`);
  }

  private open(): Writable {
    if (this.stream) return this.stream;
    this.stream = this.connect();
    this.stream.write(`${JSON.stringify({ owner: process.pid })}\n`);
    return this.stream;
  }

  private connect(): Writable {
    const socketPath = process.env[GUARDIAN_ENV];
    if (socketPath && !this.sharedGone) {
      const socket = createConnection(socketPath);
      // The line must not keep this process alive, only watch it.
      socket.unref();
      socket.on('error', () => {
        if (this.stream !== socket) return;
        this.sharedGone = true;
        this.stream = undefined;
        for (const [pid, readyFile] of this.wards) this.send({ add: pid, readyFile });
      });
      return socket;
    }
    return this.startOwnGuardian();
  }

  private startOwnGuardian(): Writable {
    const guardian = spawn(process.execPath, [guardianScript()], {
      stdio: ['pipe', 'ignore', 'inherit'],
      detached: true,
    });
    guardian.unref();
    const line = guardian.stdin as Socket;
    line.unref();
    // A guardian that died leaves the lifelines; nothing to do here.
    line.on('error', () => undefined);
    return line;
  }
}

export const guardianLink = new GuardianLink();
