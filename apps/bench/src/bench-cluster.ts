import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { ConnectionOptions } from 'tls';
import {
  IndexerClient,
  PeerClient,
  RpcConnection,
  TlsFiles,
  tlsFromFiles,
} from '@p2p-pubsub/client';
import { LaunchOptions, LaunchedProcess, ProcessGroup } from '@p2p-pubsub/launcher';

/** The repository root, from this file's place in dist/apps/bench. */
export const REPOSITORY_ROOT = resolve(__dirname, '../../..');

const ENTRY = {
  indexer: join(REPOSITORY_ROOT, 'dist/apps/indexer/main.js'),
  peer: join(REPOSITORY_ROOT, 'dist/apps/peer/main.js'),
  echo: join(__dirname, 'echo/echo-server.js'),
  cli: join(REPOSITORY_ROOT, 'dist/apps/cli/main.js'),
};

const PEER_COUNT = 4;
/** Output lines kept per process, for the error when one fails. */
const KEPT_LINES = 40;

export interface ClusterOptions {
  /** Where the services write CPU profiles (node --cpu-prof), if anywhere. */
  profileDir?: string;
  /**
   * Security on (TLS 1.3, certificates from `pubsub certs init`, the bench
   * as client/dev), and no echo servers: the plaintext cluster beside it is
   * the reference.
   */
  secure?: boolean;
}

/** A port nothing listens on now: a secured peer's certificate names its port, so it cannot be 0. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
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
  /** Peers started by startMetricsPairs: four with metrics, four without. */
  metricsPeers: { on: PeerHandle[]; off: PeerHandle[] } = { on: [], off: [] };
  echo: LaunchedProcess;
  echoConnection: RpcConnection;
  /** The same echo on our TcpServer rather than Nest's ServerTCP. */
  tcpServerEcho: LaunchedProcess;
  tcpServerEchoConnection: RpcConnection;
  private readonly dataRoot = mkdtempSync(join(tmpdir(), 'p2p-bench-'));
  private readonly clients: Array<{ close(): Promise<void> }> = [];
  /** With `secure`: the certificate files the bench's clients connect with. */
  private clientFiles?: TlsFiles;
  private launch: (
    name: string,
    options: Omit<LaunchOptions, 'name' | 'nodeFlags'>,
  ) => LaunchedProcess;

  constructor(private readonly options: ClusterOptions) {}

  async start(): Promise<void> {
    for (const entry of Object.values(ENTRY)) {
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    }
    const profile = (name: string) => this.profileFlags(name);

    const prefix = this.options.secure ? 'tls-' : '';
    // Each is ready once its ready file says so (a peer: registered).
    const launch = (this.launch = (name, options) =>
      this.children.add(
        new LaunchedProcess({
          name: prefix + name,
          nodeFlags: profile(prefix + name),
          keepLines: KEPT_LINES,
          ...options,
        }),
      ));
    const peerPorts = this.options.secure
      ? await Promise.all(Array.from({ length: PEER_COUNT }, () => freePort()))
      : Array.from({ length: PEER_COUNT }, () => 0);
    const security = this.options.secure ? this.makeCertificates(peerPorts) : () => [];
    this.indexer = launch('indexer', {
      script: ENTRY.indexer,
      args: ['--port', '0', ...security('indexer')],
    });
    if (this.options.secure) {
      await this.indexer.start();
    } else {
      this.echo = launch('echo', { script: ENTRY.echo });
      this.tcpServerEcho = launch('echo-tcpserver', { script: ENTRY.echo, args: ['--tcp-server'] });
      await Promise.all([this.echo.start(), this.tcpServerEcho.start(), this.indexer.start()]);
    }

    const peers = peerPorts.map((port, i) => {
      const name = `peer${i + 1}`;
      return launch(name, {
        script: ENTRY.peer,
        args: [
          '--port',
          String(port),
          '--indexer-port',
          String(this.indexer.port),
          '--data-dir',
          join(this.dataRoot, name),
          ...security(`peer-${port}`),
        ],
      });
    });
    await Promise.all(peers.map((peer) => peer.start()));

    if (!this.options.secure) {
      this.echoConnection = this.track(
        new RpcConnection({ host: '127.0.0.1', port: this.echo.port }),
      );
      this.tcpServerEchoConnection = this.track(
        new RpcConnection({ host: '127.0.0.1', port: this.tcpServerEcho.port }),
      );
    }
    this.indexerClient = this.track(
      new IndexerClient({
        host: '127.0.0.1',
        port: this.indexer.port,
        tls: this.clientTls('indexer'),
      }),
    );
    this.peers = peers.map((process) => ({ process, client: this.connect({ process }) }));
  }

  /** Node flags that make process `name` write a CPU profile, when the bench was asked for them. */
  profileFlags(name: string): string[] {
    return this.options.profileDir
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          this.options.profileDir,
          '--cpu-prof-name',
          `${name}.cpuprofile`,
        ]
      : [];
  }

  /**
   * Starts two more sets of four peers, fresh and alike but for metrics:
   * one with its ops port (metrics on), one with OPS_PORT=0 (nothing
   * counted), launched in alternation so that neither set is the one that
   * started first. The metrics workload compares them in turns.
   */
  async startMetricsPairs(): Promise<{ on: PeerHandle[]; off: PeerHandle[] }> {
    if (this.metricsPeers.on.length > 0) return this.metricsPeers;
    const names: string[] = [];
    for (let i = 1; i <= PEER_COUNT; i++) {
      names.push(`metrics-on-peer${i}`, `metrics-off-peer${i}`);
    }
    const peers = await this.startPeers(names, (name) =>
      name.startsWith('metrics-off') ? ['--ops-port', '0'] : [],
    );
    this.metricsPeers = {
      on: peers.filter((_, i) => i % 2 === 0),
      off: peers.filter((_, i) => i % 2 === 1),
    };
    return this.metricsPeers;
  }

  /**
   * Starts more peers of the plaintext cluster, fresh (each its own data
   * directory, `extraArgs` by name), for workloads that must not inherit
   * what earlier ones left in a process: its peak memory, say.
   */
  async startPeers(
    names: string[],
    extraArgs: (name: string) => string[] = () => [],
  ): Promise<PeerHandle[]> {
    const processes = names.map((name) =>
      this.launch(name, {
        script: ENTRY.peer,
        args: [
          '--port',
          '0',
          '--indexer-port',
          String(this.indexer.port),
          '--data-dir',
          join(this.dataRoot, name),
          ...extraArgs(name),
        ],
      }),
    );
    await Promise.all(processes.map((peer) => peer.start()));
    return processes.map((process) => ({ process, client: this.connect({ process }) }));
  }

  /** Where a peer serves /metrics; undefined when its ops port is off. */
  opsPortOf(peer: PeerHandle): number | undefined {
    return peer.process.report?.opsPort;
  }

  /** A further client of its own (its own socket) to a peer. */
  connect(peer: Pick<PeerHandle, 'process'>): PeerClient {
    return this.track(
      new PeerClient({ host: '127.0.0.1', port: peer.process.port, tls: this.clientTls('peer') }),
    );
  }

  private clientTls(server: 'peer' | 'indexer'): ConnectionOptions | undefined {
    return this.clientFiles && tlsFromFiles(this.clientFiles, server);
  }

  /**
   * `pubsub certs init` into the data directory, for these peer ports; returns
   * each process's security flags by its certificate's file name.
   */
  private makeCertificates(peerPorts: number[]): (certificate: string) => string[] {
    const dir = join(this.dataRoot, 'certs');
    execFileSync(process.execPath, [
      ENTRY.cli,
      'certs',
      'init',
      dir,
      '--peer-ports',
      peerPorts.join(','),
      '--days',
      '1',
    ]);
    const file = (name: string) => join(dir, name);
    this.clientFiles = { ca: file('ca.crt'), cert: file('client.crt'), key: file('client.key') };
    return (certificate) => [
      '--security',
      'on',
      '--tls-ca',
      file('ca.crt'),
      '--tls-cert',
      file(`${certificate}.crt`),
      '--tls-key',
      file(`${certificate}.key`),
      '--permissions-file',
      file('permissions.json'),
    ];
  }

  /** Closes the clients, stops every process (peers before the indexer), removes the data. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.clients.map((client) => client.close()));
    const peers = new Set(
      [...this.peers, ...this.metricsPeers.on, ...this.metricsPeers.off].map(
        (peer) => peer.process,
      ),
    );
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
