import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PrincipalRole, principalUri } from '@p2p-pubsub/protocol';

/** One certificate to issue: whom it names and where it may be reached. */
export interface CertificateRequest {
  /** Base name of the files written: `<file>.crt` and `<file>.key`. */
  file: string;
  role: PrincipalRole;
  /** A peer's `host:port`, a client's or the indexer's name. */
  name: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Valid for this many days from now (default 365); or give both dates. */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}

/** openssl's dates for `ca -startdate/-enddate`: YYYYMMDDHHMMSSZ, UTC. */
function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function openssl(args: string[], cwd?: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'the openssl command is needed to make certificates (Debian: apt-get install openssl)',
      );
    }
    throw new Error(`openssl ${args[0]} failed: ${stderr || (error as Error).message}`);
  }
}

/** Keys are P-256: quick handshakes, and every TLS 1.3 client takes them (ncat included). */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A development certificate authority in a directory (`ca.crt`, `ca.key`)
 * that issues the cluster's certificates with the openssl command: each
 * names its principal in a URI subject alternative name
 * (`pubsub://<role>/<name>`, see libs/protocol identity.ts) beside the host
 * names and addresses it is reached at.
 */
export class DevCertificateAuthority {
  private constructor(readonly dir: string) {}

  get caFile(): string {
    return join(this.dir, 'ca.crt');
  }

  /** The CA in `dir`, made there first if there is none. */
  static openOrCreate(
    dir: string,
    options: { days?: number; subject?: string } = {},
  ): { ca: DevCertificateAuthority; created: boolean } {
    mkdirSync(dir, { recursive: true });
    const ca = new DevCertificateAuthority(dir);
    if (existsSync(ca.caFile) && existsSync(join(dir, 'ca.key'))) return { ca, created: false };
    openssl([
      'req',
      '-x509',
      '-new',
      ...NEW_KEY,
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      ca.caFile,
      '-days',
      String(options.days ?? 3650),
      '-subj',
      `/CN=${options.subject ?? 'p2p-pubsub development CA'}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    chmodSync(join(dir, 'ca.key'), 0o600);
    return { ca, created: true };
  }

  /** Writes `<file>.crt` and `<file>.key` into `outDir` (the CA's directory by default). */
  issue(request: CertificateRequest, outDir = this.dir): { cert: string; key: string } {
    const cert = join(outDir, `${request.file}.crt`);
    const key = join(outDir, `${request.file}.key`);
    const names = [
      `URI:${principalUri(request.role, request.name)}`,
      ...(request.dnsNames ?? []).map((name) => `DNS:${name}`),
      ...(request.ipAddresses ?? []).map((address) => `IP:${address}`),
    ];
    // Members answer connections and open them; a client only opens them.
    const usage = request.role === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
    // `openssl ca` is the one that takes arbitrary validity dates (an
    // expired certificate for a test); it wants a small database, kept in
    // a scratch directory since nothing here tracks what was issued.
    const scratch = mkdtempSync(join(tmpdir(), 'pubsub-certs-'));
    try {
      writeFileSync(join(scratch, 'index.txt'), '');
      writeFileSync(
        join(scratch, 'ca.cnf'),
        [
          '[ca]',
          'default_ca = dev',
          '[dev]',
          `database = ${join(scratch, 'index.txt')}`,
          `new_certs_dir = ${scratch}`,
          `serial = ${join(scratch, 'serial')}`,
          'rand_serial = yes',
          'default_md = sha256',
          'policy = anything',
          'unique_subject = no',
          '[anything]',
          'commonName = supplied',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(scratch, 'ext.cnf'),
        [
          `subjectAltName = ${names.join(',')}`,
          'basicConstraints = critical,CA:FALSE',
          'keyUsage = critical,digitalSignature',
          `extendedKeyUsage = ${usage}`,
          '',
        ].join('\n'),
      );
      const csr = join(scratch, 'request.csr');
      openssl([
        'req',
        '-new',
        ...NEW_KEY,
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        `/CN=${request.role} ${request.name}`,
      ]);
      chmodSync(key, 0o600);
      const dates =
        request.notBefore && request.notAfter
          ? [
              '-startdate',
              opensslDate(request.notBefore),
              '-enddate',
              opensslDate(request.notAfter),
            ]
          : ['-days', String(request.days ?? 365)];
      openssl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        join(scratch, 'ca.cnf'),
        '-cert',
        this.caFile,
        '-keyfile',
        join(this.dir, 'ca.key'),
        '-in',
        csr,
        '-out',
        cert,
        '-extfile',
        join(scratch, 'ext.cnf'),
        ...dates,
      ]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    return { cert, key };
  }
}

export interface CertsInitOptions {
  /** The `npm start` peers: 127.0.0.1:<port> each. */
  peerPorts: number[];
  /** The compose peers, `service:port` (`peer1:5555`). */
  composePeers: string[];
  days: number;
}

export const DEFAULT_CERTS_INIT: CertsInitOptions = {
  peerPorts: [5555, 5556, 5557],
  composePeers: ['peer1:5555', 'peer2:5556', 'peer3:5557'],
  days: 365,
};

/** What `pubsub certs init` grants when it writes the permissions file. */
const DEV_PERMISSIONS = {
  principals: {
    'client/dev': {
      allow: { publish: ['>'], subscribe: ['>'], create: ['>'], delete: ['>'] },
    },
    'client/admin': { admin: true },
  },
};

/**
 * `pubsub certs init DIR`: a development CA (kept if DIR has one, so that
 * running it again renews every other certificate under the same CA) and
 * certificates for the indexer, each peer of `npm start` and of the compose
 * file, a client `client/dev` and an admin `client/admin`, plus a
 * permissions file for those two unless DIR has one. Returns the files.
 */
export function initCerts(dir: string, options: CertsInitOptions = DEFAULT_CERTS_INIT): string[] {
  const { ca, created } = DevCertificateAuthority.openOrCreate(dir);
  const loopback = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] };
  const written = created ? [ca.caFile, join(dir, 'ca.key')] : [];
  const issue = (request: CertificateRequest) => {
    const { cert, key } = ca.issue({ days: options.days, ...request });
    written.push(cert, key);
  };
  issue({
    file: 'indexer',
    role: 'indexer',
    name: 'indexer',
    dnsNames: ['indexer', 'localhost'],
    ipAddresses: loopback.ipAddresses,
  });
  for (const port of options.peerPorts) {
    issue({ file: `peer-${port}`, role: 'peer', name: `127.0.0.1:${port}`, ...loopback });
  }
  for (const peer of options.composePeers) {
    const [service] = peer.split(':');
    issue({
      file: service,
      role: 'peer',
      name: peer,
      dnsNames: [service, 'localhost'],
      ipAddresses: loopback.ipAddresses,
    });
  }
  issue({ file: 'client', role: 'client', name: 'dev' });
  issue({ file: 'admin', role: 'client', name: 'admin' });
  const permissions = join(dir, 'permissions.json');
  if (!existsSync(permissions)) {
    writeFileSync(permissions, `${JSON.stringify(DEV_PERMISSIONS, null, 2)}\n`);
    written.push(permissions);
  }
  return written;
}
