// Jest globalSetup of the e2e project: starts the run's guardian (see
// libs/launcher/src/guardian.ts) and tells every test worker where it
// listens. The guardian's standard input is this process's: if the jest
// runner dies, even by kill -9, the guardian stops every process any test
// started, paused ones included.
import { ChildProcess, spawn } from 'child_process';
import { existsSync } from 'fs';
import { Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { GUARDIAN_ENV } from '@p2p-pubsub/launcher';

const GUARDIAN_KEY = Symbol.for('p2p-pubsub.e2e.guardian');

export function runGuardian(): ChildProcess | undefined {
  return (globalThis as Record<symbol, ChildProcess | undefined>)[GUARDIAN_KEY];
}

export default async function globalSetup(
  _globalConfig: unknown,
  project: { rootDir: string },
): Promise<void> {
  const script = join(project.rootDir, 'libs/launcher/dist/guardian.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run npm run build first`);
  const socketPath = join(tmpdir(), `p2p-guardian-${process.pid}.sock`);
  const guardian = spawn(process.execPath, [script, '--listen', socketPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // Ctrl-C in the terminal is for jest; the guardian acts once jest is gone.
    detached: true,
  });
  await new Promise<void>((resolve, reject) => {
    guardian.stdout!.once('data', () => resolve());
    guardian.once('exit', (code) => reject(new Error(`the guardian exited (${code})`)));
  });
  // It must not keep jest alive: jest's exit is what it waits for.
  guardian.unref();
  (guardian.stdin as Socket).unref();
  (guardian.stdout as Socket).destroy();
  (globalThis as Record<symbol, ChildProcess>)[GUARDIAN_KEY] = guardian;
  process.env[GUARDIAN_ENV] = socketPath;
}
