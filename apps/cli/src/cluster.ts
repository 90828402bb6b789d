import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';

export interface ClusterOptions {
  indexerPort: number;
  peerPorts: number[];
  host: string;
}

/** Where the build puts the indexer and peer entry points, next to this CLI's. */
function entry(app: 'indexer' | 'peer'): string {
  return join(__dirname, '..', app, 'main.js');
}

/**
 * The local cluster behind `npm start`: one indexer and a few peers as child
 * processes sharing this terminal. Each log line is already prefixed with its
 * process's role and port. Ctrl-C or SIGTERM stops them all gracefully.
 */
export function runCluster(options: ClusterOptions): Promise<number> {
  const children: ChildProcess[] = [];
  const start = (app: 'indexer' | 'peer', args: string[]) => {
    const child = spawn(process.execPath, [entry(app), ...args], { stdio: 'inherit' });
    children.push(child);
    return child;
  };

  start('indexer', ['--host', options.host, '--port', String(options.indexerPort)]);
  for (const port of options.peerPorts) {
    start('peer', [
      '--host',
      options.host,
      '--port',
      String(port),
      '--indexer-host',
      options.host,
      '--indexer-port',
      String(options.indexerPort),
    ]);
  }

  return new Promise((resolve) => {
    let stopping = false;
    let worst = 0;
    let running = children.length;
    const stopAll = () => {
      if (stopping) return;
      stopping = true;
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    };
    for (const child of children) {
      child.once('exit', (code) => {
        worst = Math.max(worst, code ?? 1);
        // One process dying takes the cluster down rather than leaving it half up.
        stopAll();
        if (--running === 0) resolve(worst);
      });
    }
    process.once('SIGINT', stopAll);
    process.once('SIGTERM', stopAll);
  });
}
