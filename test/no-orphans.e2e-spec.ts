// Guards the promise that no process started by a test, the bench or `npm
// start` outlives its owner, however the owner ends: a start that fails or
// times out, a cluster that fails half-way, Ctrl-C, kill -9 of `npm start`,
// and kill -9 of the jest runner itself in the middle of its suites, with a
// paused (SIGSTOP) service among what it leaves. Survivors are found by an
// environment marker that every descendant inherits, detached ones included.
import { LaunchedProcess, runningProcesses } from '@p2p-pubsub/launcher';
import { randomUUID } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startCluster } from './support/cluster';
import { DEADLINE_MS } from './support/deadline';
import { ENTRY, indexerProcess, peerProcess } from './support/processes';
import { childrenOf, isAlive, killAll, processesWithEnv } from './support/proc';
import { waitFor } from './support/wait';

const MARKER = 'P2P_E2E_ORPHAN_PROBE';
const ROOT = process.cwd();

/** Waits until no process carries `marker`; then the expectation shows any survivor. */
async function expectNoneLeft(marker: string): Promise<void> {
  await waitFor(() => processesWithEnv(MARKER, marker).length === 0, {
    what: 'every marked process to be gone',
  }).catch(() => undefined);
  expect(processesWithEnv(MARKER, marker)).toEqual([]);
}

describe('a jest run killed with -9 in the middle of its suites', () => {
  const marker = randomUUID();
  const probeDir = mkdtempSync(join(tmpdir(), 'p2p-orphan-probe-'));

  afterAll(() => {
    killAll(processesWithEnv(MARKER, marker));
    rmSync(probeDir, { recursive: true, force: true });
  });

  it('leaves nothing behind: not its workers, the services they started, a paused peer, nor what a service started', async () => {
    const runner = await new LaunchedProcess({
      name: 'inner jest',
      script: join(ROOT, 'node_modules/jest/bin/jest.js'),
      nodeFlags: ['--experimental-vm-modules'],
      args: ['--config', 'test/fixtures/orphans/jest.config.mjs'],
      cwd: ROOT,
      env: { [MARKER]: marker, ORPHAN_PROBE_DIR: probeDir },
      readiness: 'spawned',
    }).start();

    const fixtures = ['paused-peer', 'nested-cluster'].map((name) =>
      join(probeDir, `${name}.json`),
    );
    const reports = await waitFor(
      () =>
        fixtures.every((file) => existsSync(file)) &&
        fixtures.map(
          (file) => JSON.parse(readFileSync(file, 'utf8')) as { runner: number; pids: number[] },
        ),
      { what: `both fixtures to start their processes; runner output:\n${runner.output}` },
    );
    // Each fixture runs in a test worker: the harder case, as a worker
    // outlives its runner's kill -9 unless something stops it.
    expect(reports.map((report) => report.runner)).toEqual([runner.pid, runner.pid]);
    const marked = processesWithEnv(MARKER, marker).map((found) => found.pid);
    for (const pid of reports.flatMap((report) => report.pids)) expect(marked).toContain(pid);
    // The runner, 2 workers, the guardian, 3 services, the CLI and its 3.
    expect(marked.length).toBeGreaterThanOrEqual(11);

    await runner.kill();
    await expectNoneLeft(marker);
  });
});

describe("npm start's cluster", () => {
  const marker = randomUUID();
  const startCli = () =>
    new LaunchedProcess({
      name: 'cluster',
      script: ENTRY.cli,
      args: ['cluster', '--indexer-port', '0', '--peer-ports', '0,0'],
      cwd: ROOT,
      env: { [MARKER]: marker },
      // It writes a ready file of its own once every process is ready.
      startTimeoutMs: DEADLINE_MS,
      stopTimeoutMs: DEADLINE_MS,
    }).start();

  afterAll(() => killAll(processesWithEnv(MARKER, marker)));

  it('stops every process on Ctrl-C, the peers unregistering from a live indexer', async () => {
    const cli = await startCli();
    expect(cli.report).toMatchObject({ role: 'cluster', ready: true, port: expect.any(Number) });
    expect(processesWithEnv(MARKER, marker)).toHaveLength(4);

    expect(await cli.stop('SIGINT')).toEqual({ code: 0, signal: null });
    expect(cli.output.filter((line) => /unregistered from the indexer/.test(line))).toHaveLength(2);
    await expectNoneLeft(marker);
  });

  it('leaves nothing behind when killed with -9, a paused peer included', async () => {
    const cli = await startCli();
    const [paused] = processesWithEnv(MARKER, marker).filter((found) =>
      found.command.includes('apps/peer/main.js'),
    );
    process.kill(paused.pid, 'SIGSTOP');

    await cli.kill();
    await expectNoneLeft(marker);
  });
});

describe('the launcher', () => {
  it('kills a process that is not ready within its start bound before failing', async () => {
    // Its indexer port has no indexer: it can never register, so any bound shows the same.
    const never = new LaunchedProcess({
      name: 'never-ready',
      script: ENTRY.peer,
      args: ['--port', '0', '--indexer-port', '1'],
      startTimeoutMs: 1_000,
    });
    await expect(never.start()).rejects.toThrow(/never-ready was not ready within 1000 ms/);
    expect(never.pid).toBeGreaterThan(0);
    expect(isAlive(never.pid)).toBe(false);
    expect(runningProcesses()).not.toContain(never);
  });

  it('stops what startCluster started when a later process fails to start', async () => {
    await expect(startCluster(2, { peerArgs: ['--fsync', 'never'] })).rejects.toThrow(
      /FSYNC \(--fsync\) = 'never'/,
    );
    expect(childrenOf(process.pid, 'dist/apps/')).toEqual([]);
    expect(runningProcesses()).toEqual([]);
  });

  it('continues a paused process so that it stops gracefully', async () => {
    const indexer = await indexerProcess().start();
    indexer.signal('SIGSTOP');
    expect(await indexer.stop()).toEqual({ code: 0, signal: null });
  });

  it('restarts a process on the same port, ready again', async () => {
    const indexer = await indexerProcess().start();
    const peer = await peerProcess('restarted', indexer.port).start();
    const { port, pid } = peer;
    await peer.restart('SIGKILL');
    expect(peer.port).toBe(port);
    expect(peer.pid).not.toBe(pid);
    expect(peer.report).toMatchObject({ ready: true, registered: true, pid: peer.pid });
    await peer.stop();
    await indexer.stop();
  });
});
