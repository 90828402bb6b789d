import { IndexerClient, PeerClient, RpcConnection, tlsFromFiles } from '@p2p-pubsub/client';
import { PrincipalRole } from '@p2p-pubsub/protocol';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { ConnectionOptions } from 'tls';
import { CertificateRequest, DevCertificateAuthority } from '../../apps/cli/src/certs';
import { DEADLINE_MS } from './deadline';
import { ServiceProcess, indexerProcess, peerProcess } from './processes';

export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * Certificates for one suite, from a CA of its own made with the same code
 * as `pubsub certs init` (the openssl command), in a directory removed at
 * the end. A second TestPki is a foreign CA.
 */
export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'p2p-pki-'));
  readonly ca: DevCertificateAuthority;
  private count = 0;

  constructor(subject = 'p2p-pubsub test CA') {
    this.ca = DevCertificateAuthority.openOrCreate(join(this.dir, 'ca'), { subject }).ca;
  }

  get caFile(): string {
    return this.ca.caFile;
  }

  issue(request: Omit<CertificateRequest, 'file'>): CertFiles {
    return this.ca.issue({ ...request, file: `${request.role}-${++this.count}` }, this.dir);
  }

  peer(port: number, extra: Partial<CertificateRequest> = {}): CertFiles {
    return this.issue({
      role: 'peer',
      name: `127.0.0.1:${port}`,
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      ...extra,
    });
  }

  client(name: string, extra: Partial<CertificateRequest> = {}): CertFiles {
    return this.issue({ role: 'client', name, ...extra });
  }

  /** Client TLS options trusting this CA (or `caFile`), presenting `files` if given. */
  tls(files?: CertFiles, expected?: PrincipalRole, caFile = this.caFile): ConnectionOptions {
    return tlsFromFiles({ ca: caFile, ...files }, expected);
  }

  /** A file in this suite's directory. */
  write(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A port nothing listens on right now, for a peer whose certificate must name its port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The flags that turn security on for a process. */
export function securityArgs(caFile: string, files: CertFiles, permissionsFile?: string): string[] {
  return [
    '--security',
    'on',
    '--tls-ca',
    caFile,
    '--tls-cert',
    files.cert,
    '--tls-key',
    files.key,
    ...(permissionsFile ? ['--permissions-file', permissionsFile] : []),
  ];
}

export interface SecurePeer {
  process: ServiceProcess;
  port: number;
  /** host:port, as its certificate names it. */
  peerId: string;
  files: CertFiles;
}

export interface SecureCluster {
  pki: TestPki;
  permissionsFile: string;
  indexer: ServiceProcess;
  indexerFiles: CertFiles;
  peers: SecurePeer[];
  /** A PeerClient to peer `index` as the client `files`, trusting `caFile` as it is now (closed by stop). */
  peerClient(index: number, files?: CertFiles, token?: string): PeerClient;
  indexerClient(files?: CertFiles): IndexerClient;
  /** A bare connection to a peer, for patterns the clients do not send. */
  connection(port: number, files?: CertFiles, tls?: ConnectionOptions): RpcConnection;
  /** The CA bundle every process of the cluster trusts (TLS_CA): a copy that rotation may rewrite. */
  caFile: string;
  writePermissions(principals: object): void;
  stop(): Promise<void>;
}

/**
 * An indexer and `peerCount` peers as real processes with security on, each
 * with a certificate from `pki` naming it, the peers on ports chosen free
 * first (a peer listens on its certificate's port), and a permissions file
 * granting `permissions`.
 */
export async function startSecureCluster(
  peerCount: number,
  options: { permissions?: object; peerArgs?: string[]; pki?: TestPki } = {},
): Promise<SecureCluster> {
  const pki = options.pki ?? new TestPki();
  const permissionsFile = join(pki.dir, 'permissions.json');
  const writePermissions = (principals: object) =>
    writeFileSync(permissionsFile, JSON.stringify({ principals }, null, 2));
  writePermissions(options.permissions ?? {});
  const caFile = join(pki.dir, 'cluster-ca.crt');
  copyFileSync(pki.caFile, caFile);
  const indexerFiles = pki.issue({
    role: 'indexer',
    name: 'indexer',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const indexer = indexerProcess(securityArgs(caFile, indexerFiles, permissionsFile));
  let peers: SecurePeer[] = [];
  const stopProcesses = async () => {
    await Promise.all(peers.map((peer) => peer.process.stop()));
    await indexer.stop();
  };
  try {
    await indexer.start();
    const ports = await Promise.all(Array.from({ length: peerCount }, () => freePort()));
    peers = ports.map((port, i) => {
      const files = pki.peer(port);
      const process = peerProcess(`peer${i + 1}`, indexer.port, [
        '--port',
        String(port),
        ...securityArgs(caFile, files, permissionsFile),
        '--data-dir',
        join(pki.dir, `data-peer${i + 1}`),
        ...(options.peerArgs ?? []),
      ]);
      return { process, port, peerId: `127.0.0.1:${port}`, files };
    });
    // Every start settles before a failure is passed on, so nothing is left running.
    const starts = await Promise.allSettled(peers.map((peer) => peer.process.start()));
    const failed = starts.find((start) => start.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await stopProcesses();
    if (!options.pki) pki.remove();
    throw error;
  }
  const clients: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(client: T): T => {
    clients.push(client);
    return client;
  };
  return {
    pki,
    caFile,
    permissionsFile,
    indexer,
    indexerFiles,
    peers,
    peerClient: (index, files, token) =>
      track(
        new PeerClient({
          host: '127.0.0.1',
          port: peers[index].port,
          requestTimeoutMs: DEADLINE_MS,
          tls: pki.tls(files, 'peer', caFile),
          token,
        }),
      ),
    indexerClient: (files) =>
      track(
        new IndexerClient({
          host: '127.0.0.1',
          port: indexer.port,
          requestTimeoutMs: DEADLINE_MS,
          tls: pki.tls(files, 'indexer', caFile),
        }),
      ),
    connection: (port, files, tls) =>
      track(
        new RpcConnection({
          host: '127.0.0.1',
          port,
          requestTimeoutMs: DEADLINE_MS,
          tls: tls ?? pki.tls(files, undefined, caFile),
        }),
      ),
    writePermissions,
    async stop() {
      await Promise.all(clients.map((client) => client.close()));
      await stopProcesses();
      if (!options.pki) pki.remove();
    },
  };
}
