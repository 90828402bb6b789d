import {
  LIFELINE_ENV,
  LaunchedProcess,
  ProcessGroup,
  READY_FILE_ENV,
  watchLifeline,
  writeReadyFile,
} from '@p2p-pubsub/launcher';
import { existsSync } from 'fs';
import { join, resolve } from 'path';

export interface ClusterOptions {
  indexerPort: number;
  peerPorts: number[];
  host: string;
  /** Security on, with the files `pubsub certs init` wrote there. */
  tlsDir?: string;
}

/** A process's security settings from a `certs init` directory: its certificate, the CA, the permissions. */
function securityArgs(tlsDir: string | undefined, certificate: string): string[] {
  if (tlsDir === undefined) return [];
  const dir = resolve(tlsDir);
  const permissions = join(dir, 'permissions.json');
  return [
    '--security',
    'on',
    '--tls-ca',
    join(dir, 'ca.crt'),
    '--tls-cert',
    join(dir, `${certificate}.crt`),
    '--tls-key',
    join(dir, `${certificate}.key`),
    ...(existsSync(permissions) ? ['--permissions-file', permissions] : []),
  ];
}

/** Where the build puts the indexer and peer entry points, next to this CLI's. */
function entry(app: 'indexer' | 'peer'): string {
  return join(__dirname, '..', app, 'main.js');
}

/**
 * The local cluster behind `npm start`: one indexer, then a few peers, as
 * child processes whose log lines (already prefixed with role and port) are
 * printed here. Each counts as started once its ready file says so (a peer:
 * registered), which also gives the bound port, so port 0 works too.
 *
 * Ctrl-C or SIGTERM stops the peers (they unregister from a live indexer),
 * then the indexer; a second Ctrl-C kills them at once. One process dying
 * takes the cluster down rather than leaving it half up. If this process
 * itself dies, each child sees its lifeline close and shuts down, and the
 * guardian stops any that cannot (see @p2p-pubsub/launcher). With --tls-dir,
 * SIGHUP is passed on to each (certificates and permissions are reloaded).
 */
export async function runCluster(options: ClusterOptions): Promise<number> {
  const group = new ProcessGroup();
  // The children write to a pipe (this process prints their lines), so they
  // would pick JSON logs: they log as they would on this terminal.
  const logFormat = process.env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const launch = (name: string, app: 'indexer' | 'peer', args: string[]) =>
    group.add(
      new LaunchedProcess({
        name,
        script: entry(app),
        args: ['--host', options.host, ...args],
        env: { LOG_FORMAT: logFormat },
        keepLines: 50,
        onLine: (line) => process.stdout.write(`${line}\n`),
      }),
    );
  const peers: LaunchedProcess[] = [];
  const isPeer = (member: LaunchedProcess) => peers.includes(member);

  let stopRequested!: () => void;
  const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
  let signals = 0;
  const onSignal = () => {
    // The second Ctrl-C does not wait for a graceful shutdown.
    if (++signals > 1) group.killNow();
    stopRequested();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  watchLifeline(process.env[LIFELINE_ENV], stopRequested);
  if (options.tlsDir !== undefined) {
    process.on('SIGHUP', () => group.processes.forEach((member) => member.signal('SIGHUP')));
  }

  try {
    const indexer = await Promise.race([
      launch('indexer', 'indexer', [
        '--port',
        String(options.indexerPort),
        ...securityArgs(options.tlsDir, 'indexer'),
      ]).start(),
      stopping,
    ]);
    if (!indexer) return stopAll(group, isPeer);
    for (const [i, port] of options.peerPorts.entries()) {
      peers.push(
        launch(`peer${i + 1}`, 'peer', [
          '--port',
          String(port),
          '--indexer-host',
          options.host,
          '--indexer-port',
          String(indexer.port),
          ...securityArgs(options.tlsDir, `peer-${port}`),
        ]),
      );
    }
    if (!(await Promise.race([Promise.all(peers.map((peer) => peer.start())), stopping]))) {
      return stopAll(group, isPeer);
    }
    process.stdout.write(
      `cluster ready: indexer on ${options.host}:${indexer.port}, peers on ${peers
        .map((peer) => peer.port)
        .join(', ')}; Ctrl-C stops them\n`,
    );
    const readyFile = process.env[READY_FILE_ENV];
    if (readyFile) {
      const report = { role: 'cluster', pid: process.pid, host: options.host, port: indexer.port };
      writeReadyFile(readyFile, { ...report, listening: true, ready: true });
    }
  } catch (error) {
    process.stderr.write(`cluster: ${(error as Error).message.split('\n')[0]}\n`);
    await stopAll(group, isPeer);
    return 1;
  }

  await Promise.race([stopping, ...group.processes.map((member) => member.whenExited())]);
  return stopAll(group, isPeer);
}

/** Stops every member, peers first; the exit code is the worst of theirs. */
async function stopAll(
  group: ProcessGroup,
  first: (member: LaunchedProcess) => boolean,
): Promise<number> {
  await group.stopAll(first);
  return Math.max(0, ...group.exits().map((exit) => (exit.signal ? 1 : (exit.code ?? 1))));
}
