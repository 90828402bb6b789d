// Runs in every e2e test file (jest setupFilesAfterEnv). The safety net for
// a suite whose own teardown did not run or did not reach every process (a
// beforeAll that failed half-way, an afterAll that threw first): whatever
// this file started and left running is stopped when the file ends, peers
// first so that they unregister from a live indexer.
import { runningProcesses } from '@p2p-pubsub/launcher';

afterAll(async () => {
  const left = runningProcesses();
  await Promise.all(left.filter((p) => p.report?.role === 'peer').map((p) => p.stop()));
  await Promise.all(left.map((p) => p.stop()));
});
