// Guards the one-command set-up of a secured cluster: `pubsub certs init`
// makes certificates with the names `npm start` and the compose file need
// (the compose variant's files and variables are checked against them, as
// there is no Docker engine here), `pubsub cluster --tls-dir` starts a
// cluster with them, the CLI works against it with --ca/--cert/--key and
// not without, and SIGHUP to the cluster reaches every process.
import { X509Certificate } from 'crypto';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { LaunchedProcess } from '@p2p-pubsub/launcher';
import { principalFromSubjectAltName } from '@p2p-pubsub/protocol';
import { Security } from '@p2p-pubsub/server';
import { parse } from 'yaml';
import { loadIndexerConfig } from '../apps/indexer/src/indexer.config';
import { loadPeerConfig } from '../apps/peer/src/peer.config';
import { PeerIdentity } from '../apps/peer/src/peer-identity';
import { DEADLINE_MS } from './support/deadline';
import { ENTRY, runToEnd } from './support/processes';
import { freePort } from './support/secure-cluster';

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}
type ComposeFile = { services: Record<string, ComposeService> };

function readCompose(file: string): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

describe('pubsub certs init', () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-certs-'));

  beforeAll(async () => {
    const made = await runToEnd({ script: ENTRY.cli, args: ['certs', 'init', dir] });
    if (made.code !== 0) throw new Error(`certs init exited ${made.code}: ${made.stderr}`);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes what the compose variant with security on reads, with the names each service has', () => {
    const base = readCompose('docker-compose.yml');
    const secure = readCompose('docker-compose.secure.yml');
    // The indexer and the peers; monitoring (Prometheus, Grafana) is not ours to secure.
    const ours = Object.entries(base.services).filter(([, service]) =>
      service.command?.some((part) => /dist\/apps\/(indexer|peer)\/main\.js/.test(part)),
    );
    expect(Object.keys(secure.services).sort()).toEqual(ours.map(([name]) => name).sort());
    for (const [name, service] of ours) {
      const overlay = secure.services[name];
      expect(overlay.volumes).toContain('./certs:/certs:ro');
      // What the process would read, with /certs being the directory certs init wrote.
      const env = Object.fromEntries(
        Object.entries({ ...service.environment, ...overlay.environment }).map(([key, value]) => [
          key,
          String(value).replace(/^\/certs\//, `${dir}/`),
        ]),
      );
      expect(env.SECURITY).toBe('on');
      if (name === 'indexer') {
        const config = loadIndexerConfig([], env);
        expect(Security.load(config, 'indexer').identity?.id).toBe('indexer/indexer');
      } else {
        const config = loadPeerConfig([], env);
        const identity = PeerIdentity.of(config, Security.load(config, 'peer'));
        // Its id is the address the other containers reach it at.
        expect(identity.peerId).toBe(`${env.ADVERTISED_HOST}:${env.PORT}`);
        const indexer = new X509Certificate(readFileSync(join(dir, 'indexer.crt')));
        expect(indexer.subjectAltName).toContain(`DNS:${env.INDEXER_HOST}`);
      }
    }
  });

  it('names a client, an admin and each npm start peer', () => {
    const principal = (file: string) =>
      principalFromSubjectAltName(
        new X509Certificate(readFileSync(join(dir, file))).subjectAltName,
      );
    expect(principal('client.crt')).toMatchObject({ id: 'client/dev' });
    expect(principal('admin.crt')).toMatchObject({ id: 'client/admin' });
    for (const port of [5555, 5556, 5557]) {
      expect(principal(`peer-${port}.crt`)).toMatchObject({ id: `peer/127.0.0.1:${port}` });
    }
    const permissions = JSON.parse(readFileSync(join(dir, 'permissions.json'), 'utf8'));
    expect(permissions.principals['client/admin']).toEqual({ admin: true });
  });
});

describe('pubsub cluster --tls-dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-certs-'));
  let cluster: LaunchedProcess | undefined;
  let ports: number[];
  const cli = (args: string[]) => runToEnd({ script: ENTRY.cli, args });
  const asDev = () => [
    '--ca',
    join(dir, 'ca.crt'),
    '--cert',
    join(dir, 'client.crt'),
    '--key',
    join(dir, 'client.key'),
  ];

  beforeAll(async () => {
    ports = await Promise.all([freePort(), freePort(), freePort()]);
    const [indexerPort, ...peerPorts] = ports;
    expect((await cli(['certs', 'init', dir, '--peer-ports', peerPorts.join(',')])).code).toBe(0);
    cluster = await new LaunchedProcess({
      name: 'cluster',
      script: ENTRY.cli,
      args: [
        'cluster',
        '--indexer-port',
        String(indexerPort),
        '--peer-ports',
        peerPorts.join(','),
        '--tls-dir',
        dir,
      ],
      // The peers keep their logs in ./data/peer-<port>, as under npm start: here, not in the repository.
      cwd: dir,
      startTimeoutMs: DEADLINE_MS,
      stopTimeoutMs: DEADLINE_MS,
    }).start();
    const created = await cli([
      'create-topic',
      'Sports',
      '--peer',
      `localhost:${peerPorts[0]}`,
      ...asDev(),
    ]);
    if (created.code !== 0) throw new Error(`create-topic failed: ${created.stderr}`);
  });

  afterAll(async () => {
    await cluster?.stop('SIGINT');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the CLI with the client certificate, and refuses it without', async () => {
    const [indexerPort, host, other] = ports;
    const published = await cli([
      'pub',
      'Sports',
      'hi',
      '--peer',
      `localhost:${other}`,
      ...asDev(),
    ]);
    expect(JSON.parse(published.stdout)).toMatchObject({ status: 'success' });
    const looked = await cli([
      'lookup',
      'Sports',
      '--indexer',
      `localhost:${indexerPort}`,
      ...asDev(),
    ]);
    expect(JSON.parse(looked.stdout)).toMatchObject({ peerId: `127.0.0.1:${host}` });

    const plaintext = await cli(['pub', 'Sports', 'hi', '--peer', `localhost:${host}`]);
    expect(plaintext.code).toBe(1);
    expect(JSON.parse(plaintext.stderr)).toMatchObject({ code: 'PEER_UNAVAILABLE' });
  });

  it('passes SIGHUP on to every process, which reloads and keeps serving', async () => {
    const mark = cluster!.output.length;
    cluster!.signal('SIGHUP');
    await waitForLines(cluster!, /reloaded the TLS certificate/, mark, 3);
    const [, host] = ports;
    const published = await cli([
      'pub',
      'Sports',
      'again',
      '--peer',
      `localhost:${host}`,
      ...asDev(),
    ]);
    expect(JSON.parse(published.stdout)).toMatchObject({ status: 'success' });
  });
});

/** Waits until `count` lines after `from` match `pattern`. */
async function waitForLines(
  process: LaunchedProcess,
  pattern: RegExp,
  from: number,
  count: number,
): Promise<void> {
  let at = from;
  for (let seen = 0; seen < count; seen++) {
    const line = await process.waitForOutput(pattern, at, DEADLINE_MS);
    at = process.output.indexOf(line, at) + 1;
  }
}
