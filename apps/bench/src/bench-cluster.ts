import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { IndexerClient, PeerClient, RpcConnection } from '@p2p-pubsub/client';
import { LaunchOptions, LaunchedProcess, ProcessGroup } from '@p2p-pubsub/launcher';

/** The repository root, from this file's place in dist/apps/bench. */
export const REPOSITORY_ROOT = resolve(__dirname, '../../..');

const ENTRY = {
  indexer: join(REPOSITORY_ROOT, 'dist/apps/indexer/main.js'),
  peer: join(REPOSITORY_ROOT, 'dist/apps/peer/main.js'),
  echo: join(__dirname, 'echo/echo-server.js'),
};

const PEER_COUNT = 4;
/** Output lines kept per process, for the error when one fails. */
const KEPT_LINES = 40;

export interface ClusterOptions {
  /** Where the services write CPU profiles (node --cpu-prof), if anywhere. */
  profileDir?: string;
}

export interface PeerHandle {
  process: LaunchedProcess;
  client: PeerClient;
}

/**
 * What the bench measures: an indexer and four peers as separate processes,
 * each on a port it chose itself, with its data in a directory of the bench's
 * own; and beside them the reference echo servers. Every process is in
 * `children`, so it is stopped however the bench ends.
 */
export class BenchCluster {
  readonly children = new ProcessGroup();
  indexer: LaunchedProcess;
  indexerClient: IndexerClient;
  peers: PeerHandle[] = [];
  echo: LaunchedProcess;
  echoConnection: RpcConnection;
  /** The same echo on our TcpServer rather than Nest's ServerTCP. */
  tcpServerEcho: LaunchedProcess;
  tcpServerEchoConnection: RpcConnection;
  private readonly dataRoot = mkdtempSync(join(tmpdir(), 'p2p-bench-'));
  private readonly clients: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly options: ClusterOptions) {}

  async start(): Promise<void> {
    for (const entry of Object.values(ENTRY)) {
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    }
    const profile = (name: string) =>
      this.options.profileDir
        ? [
            '--cpu-prof',
            '--cpu-prof-dir',
            this.options.profileDir,
            '--cpu-prof-name',
            `${name}.cpuprofile`,
          ]
        : [];

    // Each is ready once its ready file says so (a peer: registered).
    const launch = (name: string, options: Omit<LaunchOptions, 'name' | 'nodeFlags'>) =>
      this.children.add(
        new LaunchedProcess({ name, nodeFlags: profile(name), keepLines: KEPT_LINES, ...options }),
      );
    this.echo = launch('echo', { script: ENTRY.echo });
    this.tcpServerEcho = launch('echo-tcpserver', { script: ENTRY.echo, args: ['--tcp-server'] });
    this.indexer = launch('indexer', { script: ENTRY.indexer, args: ['--port', '0'] });
    await Promise.all([this.echo.start(), this.tcpServerEcho.start(), this.indexer.start()]);

    const peers = Array.from({ length: PEER_COUNT }, (_, i) => {
      const name = `peer${i + 1}`;
      return launch(name, {
        script: ENTRY.peer,
        args: [
          '--port',
          '0',
          '--indexer-port',
          String(this.indexer.port),
          '--data-dir',
          join(this.dataRoot, name),
        ],
      });
    });
    await Promise.all(peers.map((peer) => peer.start()));

    this.echoConnection = this.track(
      new RpcConnection({ host: '127.0.0.1', port: this.echo.port }),
    );
    this.tcpServerEchoConnection = this.track(
      new RpcConnection({ host: '127.0.0.1', port: this.tcpServerEcho.port }),
    );
    this.indexerClient = this.track(
      new IndexerClient({ host: '127.0.0.1', port: this.indexer.port }),
    );
    this.peers = peers.map((process) => ({
      process,
      client: this.track(new PeerClient({ host: '127.0.0.1', port: process.port })),
    }));
  }

  /** A further client of its own (its own socket) to a peer. */
  connect(peer: PeerHandle): PeerClient {
    return this.track(new PeerClient({ host: '127.0.0.1', port: peer.process.port }));
  }

  /** Closes the clients, stops every process (peers before the indexer), removes the data. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.clients.map((client) => client.close()));
    const peers = new Set(this.peers.map((peer) => peer.process));
    await this.children.stopAll(
      (child) => peers.has(child) || child === this.echo || child === this.tcpServerEcho,
    );
    rmSync(this.dataRoot, { recursive: true, force: true });
  }

  /** For an exit that cannot wait: no child outlives the bench. */
  killNow(): void {
    this.children.killNow();
    rmSync(this.dataRoot, { recursive: true, force: true });
  }

  private track<T extends { close(): Promise<void> }>(client: T): T {
    this.clients.push(client);
    return client;
  }
}
