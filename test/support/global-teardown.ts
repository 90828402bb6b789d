// Jest globalTeardown of the e2e project: ends the guardian's standard
// input, so that it stops whatever is still running (it names each one on
// stderr: a process some suite failed to stop) and exits.
import { once } from 'events';
import { runGuardian } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const guardian = runGuardian();
  if (!guardian || guardian.exitCode !== null) return;
  const exited = once(guardian, 'exit');
  guardian.ref();
  guardian.stdin!.end();
  await exited;
}
