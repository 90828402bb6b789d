// Guards who may connect to a cluster with security on, and how a process
// with bad TLS files fails: certificates that are expired or from a foreign
// CA are refused (requests UNAUTHENTICATED, a peer never registers), a
// client checks whom it reached, plaintext and slow connections are cut with
// a log line, and a process whose own files are wrong stops at start-up with
// exit code 2 and a message naming the variable.
import { PeerClient, RpcConnection, expectServer } from '@p2p-pubsub/client';
import { ErrorCodes, IndexerPatterns, PeerPatterns } from '@p2p-pubsub/protocol';
import { execFile } from 'child_process';
import { readFileSync } from 'fs';
import { Socket, connect as connectTcp } from 'net';
import { connect as connectTls } from 'tls';
import { promisify } from 'util';
import { expectCode } from './support/expect-error';
import { indexerProcess, peerProcess } from './support/processes';
import {
  SecureCluster,
  TestPki,
  freePort,
  securityArgs,
  startSecureCluster,
} from './support/secure-cluster';
import { waitFor } from './support/wait';

const DAY_MS = 24 * 60 * 60 * 1000;
const CONNECT_TIMEOUT_MS = 1_000;

describe('TLS and identities with security on', () => {
  let pki: TestPki;
  let foreign: TestPki;
  let cluster: SecureCluster;

  beforeAll(async () => {
    pki = new TestPki();
    foreign = new TestPki('a foreign CA');
    cluster = await startSecureCluster(1, {
      pki,
      permissions: { 'client/alice': { allow: { create: ['>'], publish: ['>'] } } },
      peerArgs: ['--connect-timeout-ms', String(CONNECT_TIMEOUT_MS)],
    });
    await cluster.peerClient(0, pki.client('alice')).createTopic('tls.ok');
  });

  afterAll(async () => {
    await cluster?.stop();
    pki?.remove();
    foreign?.remove();
  });

  const peerPort = () => cluster.peers[0].port;

  it('serves a client whose certificate the permissions file knows', async () => {
    const alice = cluster.peerClient(0, pki.client('alice'));
    expect(await alice.publish('tls.ok', 'hello')).toMatchObject({ status: 'success' });
  });

  it('answers UNAUTHENTICATED to a client with an expired certificate', async () => {
    const expired = pki.client('alice', {
      notBefore: new Date(Date.now() - 3 * DAY_MS),
      notAfter: new Date(Date.now() - DAY_MS),
    });
    const error = await expectCode(
      cluster.peerClient(0, expired).publish('tls.ok', 'x'),
      ErrorCodes.Unauthenticated,
    );
    expect(error.message).toMatch(/CERT_HAS_EXPIRED|expired/);
  });

  it('answers UNAUTHENTICATED to a client with a certificate from a foreign CA', async () => {
    const stranger = foreign.client('alice');
    const error = await expectCode(
      cluster.peerClient(0, stranger).publish('tls.ok', 'x'),
      ErrorCodes.Unauthenticated,
    );
    expect(error.message).toMatch(/refused/);
  });

  it('refuses to register a peer whose certificate is expired or from a foreign CA', async () => {
    const port = await freePort();
    for (const files of [
      foreign.peer(port),
      pki.peer(port, {
        notBefore: new Date(Date.now() - 3 * DAY_MS),
        notAfter: new Date(Date.now() - DAY_MS),
      }),
    ]) {
      // It trusts the cluster's CA, so it can reach the indexer; the indexer does not trust it.
      const connection = new RpcConnection({
        host: '127.0.0.1',
        port: cluster.indexer.port,
        tls: pki.tls(files, 'indexer'),
      });
      await expectCode(
        connection.request(IndexerPatterns.Register, { host: '127.0.0.1', port }),
        ErrorCodes.Unauthenticated,
      );
      await connection.close();
    }
    const peers = await cluster.indexerClient(pki.client('alice')).listPeers();
    expect(peers.peers.map((peer) => peer.peerId)).toEqual([cluster.peers[0].peerId]);
  });

  it('does not let a peer start without trusting its own certificate: a foreign peer never joins', async () => {
    // A rogue peer trusting both CAs, its certificate from the foreign one.
    const port = await freePort();
    const bundle = pki.write(
      'both-cas.crt',
      [pki.caFile, foreign.caFile].map((file) => readFileSync(file, 'utf8')).join(''),
    );
    const rogue = peerProcess('rogue', cluster.indexer.port, [
      '--port',
      String(port),
      '--data-dir',
      `${pki.dir}/rogue`,
      ...securityArgs(bundle, foreign.peer(port)),
    ]);
    await rogue.start([], 'listening');
    try {
      await rogue.waitForLog(/indexer unreachable: .*Not authenticated/);
    } finally {
      await rogue.stop();
    }
    const peers = await cluster.indexerClient(pki.client('alice')).listPeers();
    expect(peers.peers.map((peer) => peer.peerId)).not.toContain(`127.0.0.1:${port}`);
  });

  it('makes a client check whom it reached: a peer is not the indexer, nor another peer', async () => {
    const alice = pki.client('alice');
    for (const check of [expectServer('indexer'), expectServer('peer', '127.0.0.1:1')]) {
      const connection = new RpcConnection({
        host: '127.0.0.1',
        port: peerPort(),
        tls: { ...pki.tls(alice), checkServerIdentity: check },
      });
      const error = await expectCode(
        connection.request(PeerPatterns.ListTopics, {}),
        ErrorCodes.PeerUnavailable,
      );
      expect(error.message).toMatch(/is peer\/127\.0\.0\.1:\d+, not/);
      await connection.close();
    }
  });

  it('refuses a server certificate from a foreign CA', async () => {
    const client = new PeerClient({
      host: '127.0.0.1',
      port: peerPort(),
      tls: foreign.tls(foreign.client('alice')),
    });
    await expectCode(client.listTopics(), ErrorCodes.PeerUnavailable);
    await client.close();
  });

  /**
   * Waits for the first peer to cut `socket` and to log why (`why`, plain
   * text), naming the client's address.
   */
  async function expectCut(socket: Socket, why: string, mark: number): Promise<void> {
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await waitFor(() => closed.then(() => true), { what: `the connection to be cut (${why})` });
    const line = await cluster.peers[0].process.waitForLog(
      new RegExp(`refused a connection from .*: ${why}`),
      mark,
    );
    expect(line).toMatch(/refused a connection from 127\.0\.0\.1:\d+/);
  }

  it('cuts a connection whose TLS handshake does not finish in time, with a log line', async () => {
    const mark = cluster.peers[0].process.output.length;
    const socket = connectTcp(peerPort(), '127.0.0.1');
    await expectCut(socket, 'its TLS handshake did not finish within 1000 ms', mark);
  });

  it('cuts a TLS connection that sends no request in time', async () => {
    const mark = cluster.peers[0].process.output.length;
    const socket = connectTls({
      ...pki.tls(pki.client('alice')),
      host: '127.0.0.1',
      port: peerPort(),
    });
    await expectCut(socket, 'no request within 1000 ms of the TLS handshake', mark);
  });

  it('refuses TLS older than 1.3', async () => {
    const peer = cluster.peers[0].process;
    const mark = peer.output.length;
    const socket = connectTls({
      ...pki.tls(pki.client('alice')),
      host: '127.0.0.1',
      port: peerPort(),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    });
    const failure = await new Promise<Error>((resolve) => socket.once('error', resolve));
    expect(failure.message).toMatch(/protocol version|alert/);
    await peer.waitForLog(/refused a connection from .*TLS/, mark);
  });

  it('speaks the bare JSON wire with ncat --ssl and a client certificate', async () => {
    const ncat = await promisify(execFile)('ncat', ['--version']).catch(() => undefined);
    if (!ncat) {
      console.warn('ncat is not installed: the ncat --ssl example is not run');
      return;
    }
    const alice = pki.client('alice');
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile('ncat', args, { timeout: 15_000 }, (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout),
        );
        child.stdin!.end('{"command": "publish", "topic": "tls.ok", "message": "via ncat"}\n');
      });
    const withCertificate = await run([
      '--ssl',
      '--ssl-trustfile',
      pki.caFile,
      '--ssl-cert',
      alice.cert,
      '--ssl-key',
      alice.key,
      'localhost',
      String(peerPort()),
    ]);
    expect(JSON.parse(withCertificate)).toMatchObject({ status: 'success', topic: 'tls.ok' });
    const without = await run([
      '--ssl',
      '--ssl-trustfile',
      pki.caFile,
      'localhost',
      String(peerPort()),
    ]);
    expect(JSON.parse(without)).toMatchObject({ status: 'error', code: 'UNAUTHENTICATED' });
  });
});

describe('a process whose own TLS files are wrong', () => {
  const pki = new TestPki();
  const foreign = new TestPki('a foreign CA');
  afterAll(() => {
    pki.remove();
    foreign.remove();
  });

  async function startupFailure(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const port = 1; // never bound: start-up stops before listening
    const child = peerProcess('misconfigured', port, args, env);
    await expect(child.start()).rejects.toThrow();
    expect(child.exit?.code).toBe(2);
    return child.output.join('\n');
  }

  it('stops with exit code 2 naming each missing file when SECURITY=on', async () => {
    const output = await startupFailure([], { SECURITY: 'on' });
    expect(output).toMatch(/TLS_CA \(--tls-ca\): tlsCa is required when SECURITY=on/);
    expect(output).toMatch(/TLS_CERT \(--tls-cert\)/);
    expect(output).toMatch(/TLS_KEY \(--tls-key\)/);
  });

  it.each([
    [
      'an expired certificate',
      () =>
        pki.peer(5999, {
          notBefore: new Date(Date.now() - 3 * DAY_MS),
          notAfter: new Date(Date.now() - DAY_MS),
        }),
      /TLS_CERT .*expired on/,
    ],
    [
      'a certificate from another CA',
      () => foreign.peer(5999),
      /TLS_CERT .*is not issued by a CA in TLS_CA/,
    ],
    [
      "a client's certificate",
      () => pki.client('alice'),
      /TLS_CERT .*names client\/alice, but this process is a peer/,
    ],
  ])('stops with exit code 2 on %s', async (_what, files, message) => {
    const output = await startupFailure(['--port', '5999', ...securityArgs(pki.caFile, files())]);
    expect(output).toMatch(message);
  });

  it("stops when the key is not the certificate's", async () => {
    const one = pki.peer(5999);
    const other = pki.peer(5999);
    const output = await startupFailure([
      '--port',
      '5999',
      ...securityArgs(pki.caFile, { cert: one.cert, key: other.key }),
    ]);
    expect(output).toMatch(/TLS_KEY .*is not the key of the certificate in TLS_CERT/);
  });

  it('stops when the port is not the one its certificate names', async () => {
    const output = await startupFailure([
      '--port',
      '5998',
      ...securityArgs(pki.caFile, pki.peer(5999)),
    ]);
    expect(output).toMatch(
      /PORT \(--port\) = '5998': the certificate in TLS_CERT names this peer 127\.0\.0\.1:5999/,
    );
  });

  it('stops an indexer given a peer certificate', async () => {
    const indexer = indexerProcess(securityArgs(pki.caFile, pki.peer(5999)));
    await expect(indexer.start()).rejects.toThrow(
      /names peer\/127\.0\.0\.1:5999, but this process is an indexer/,
    );
    expect(indexer.exit?.code).toBe(2);
  });
});
