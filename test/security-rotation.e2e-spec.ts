// Guards certificate rotation on a running cluster: a renewed certificate,
// and a move of the whole cluster to a new CA, take effect for new
// connections on SIGHUP with no process restarted and no message lost, and
// a rotation whose files do not fit together is refused while the old ones
// stay in use (a bad rotation must not take a process off the cluster).
import { PeerClient } from '@p2p-pubsub/client';
import { ErrorCodes } from '@p2p-pubsub/protocol';
import { X509Certificate } from 'crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ConnectionOptions, connect } from 'tls';
import { expectCode } from './support/expect-error';
import { ServiceProcess, peerProcess } from './support/processes';
import { readLog } from './support/pull';
import {
  CertFiles,
  SecureCluster,
  TestPki,
  freePort,
  securityArgs,
  startSecureCluster,
} from './support/secure-cluster';
import { waitFor } from './support/wait';

const TOPIC = 'orders.rotation';
const PERMISSIONS = {
  'client/alice': {
    allow: { publish: ['orders.*'], subscribe: ['orders.*'], create: ['orders.*'] },
  },
};

/** The serial number of the certificate a server presents to a new connection. */
function servedSerial(port: number, tls: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...tls, host: '127.0.0.1', port }, () => {
      resolve(socket.getPeerX509Certificate()!.serialNumber);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** Puts `next` where a process reads `current` from, as an operator renewing files in place would. */
function replaceFiles(current: CertFiles, next: CertFiles): void {
  copyFileSync(next.cert, current.cert);
  copyFileSync(next.key, current.key);
}

describe('certificate rotation without a restart', () => {
  let pki: TestPki;
  let cluster: SecureCluster;
  let caFile: string;
  /** The CA the cluster's certificates come from now, and alice's certificate from it. */
  let current: { pki: TestPki; alice: CertFiles };
  const retired: TestPki[] = [];
  let late: ServiceProcess | undefined;
  const published: string[] = [];

  beforeAll(async () => {
    pki = new TestPki();
    current = { pki, alice: pki.client('alice') };
    cluster = await startSecureCluster(2, { pki, permissions: PERMISSIONS });
    // The file every process trusts; rotation rewrites it.
    caFile = cluster.caFile;
    await cluster.peerClient(0, current.alice).createTopic(TOPIC);
    await cluster.peerClient(1, current.alice).subscribe(TOPIC, 'earliest');
    await publishAndReplicate('before any rotation');
  });

  afterAll(async () => {
    await late?.stop();
    await cluster?.stop();
    pki?.remove();
    for (const other of retired) other.remove();
  });

  /** TLS options trusting what the cluster trusts now, to see which certificate a server presents. */
  const trustNow = (): ConnectionOptions => ({ ca: readFileSync(caFile, 'utf8') });

  const everyProcess = () => [cluster.indexer, ...cluster.peers.map((peer) => peer.process)];

  async function sighupAll(expected: RegExp): Promise<void> {
    const marks = everyProcess().map((process) => process.output.length);
    for (const process of everyProcess()) process.signal('SIGHUP');
    await Promise.all(everyProcess().map((process, i) => process.waitForLog(expected, marks[i])));
  }

  /**
   * Publishes on the host and waits for the subscriber peer's replica to
   * have it, as the client `as`, each time on new connections.
   */
  async function publishAndReplicate(message: string, as = current.alice): Promise<void> {
    await cluster.peerClient(0, as).publish(TOPIC, message);
    published.push(message);
    await waitFor(
      async () =>
        (await readLog(cluster.peerClient(1, as), TOPIC)).map((record) => record.message).join() ===
        published.join(),
      { what: `the replica to hold ${published.length} messages` },
    );
  }

  it('serves a renewed certificate to new connections after SIGHUP', async () => {
    const host = cluster.peers[0];
    const before = await servedSerial(host.port, trustNow());
    const renewed = current.pki.peer(host.port);
    replaceFiles(host.files, renewed);
    const mark = host.process.output.length;
    host.process.signal('SIGHUP');
    await host.process.waitForLog(/reloaded the TLS certificate \(serial/, mark);
    const after = await servedSerial(host.port, trustNow());
    expect(after).not.toBe(before);
    expect(after).toBe(readSerial(renewed.cert));
    await publishAndReplicate('after renewing the host');
  });

  it('moves the whole cluster to a new CA, with no process restarted', async () => {
    const previous = current;
    const next = new TestPki('the next CA');
    retired.push(next);
    // 1. Trust both CAs everywhere.
    writeFileSync(
      caFile,
      readFileSync(previous.pki.caFile, 'utf8') + readFileSync(next.caFile, 'utf8'),
    );
    await sighupAll(/reloaded the TLS certificate/);
    // 2. Every process takes a certificate from the new CA.
    replaceFiles(
      cluster.indexerFiles,
      next.issue({ role: 'indexer', name: 'indexer', ipAddresses: ['127.0.0.1'] }),
    );
    for (const peer of cluster.peers) replaceFiles(peer.files, next.peer(peer.port));
    await sighupAll(/reloaded the TLS certificate/);

    const aliceNext = next.client('alice');
    const nextOnly = (files?: CertFiles) => next.tls(files, undefined, next.caFile);
    await publishAndReplicate('after the new certificates', aliceNext);
    // A peer that joins now knows only the new CA: the indexer and the host must present it.
    const port = await freePort();
    late = peerProcess('late', cluster.indexer.port, [
      '--port',
      String(port),
      '--data-dir',
      join(pki.dir, 'late'),
      ...securityArgs(next.caFile, next.peer(port), cluster.permissionsFile),
    ]);
    await late.start();
    const onLate = cluster.connection(port, aliceNext, nextOnly(aliceNext));
    await onLate.request('subscribe', { topic: TOPIC, from: 'earliest' });
    await waitFor(
      async () => {
        const reply = await onLate.request<{ messages: unknown[] }>('pull', {
          topic: TOPIC,
          fromOffset: 0,
        });
        return reply.messages.length === published.length;
      },
      { what: 'the late peer to replicate the topic' },
    );

    // 3. Stop trusting the old CA: a client still holding an old certificate is turned away.
    copyFileSync(next.caFile, caFile);
    await sighupAll(/reloaded the TLS certificate/);
    const stale = new PeerClient({
      host: '127.0.0.1',
      port: cluster.peers[0].port,
      tls: previous.pki.tls(previous.alice, undefined, next.caFile),
    });
    await expectCode(stale.listTopics(), ErrorCodes.Unauthenticated);
    await stale.close();

    current = { pki: next, alice: aliceNext };
    for (const process of everyProcess()) expect(process.running).toBe(true);
    await publishAndReplicate('after dropping the old CA');
  });

  it('refuses a rotation whose key does not fit its certificate, and keeps serving the old one', async () => {
    const host = cluster.peers[0];
    const before = await servedSerial(host.port, trustNow());
    const original = readFileSync(host.files.key);
    const stranger = pki.client('someone');
    copyFileSync(stranger.key, host.files.key);
    const mark = host.process.output.length;
    host.process.signal('SIGHUP');
    await host.process.waitForLog(
      /TLS files not reloaded, the previous ones stay in use: TLS_KEY/,
      mark,
    );
    writeFileSync(host.files.key, original);
    expect(await servedSerial(host.port, trustNow())).toBe(before);
    expect(host.process.running).toBe(true);
  });
});

function readSerial(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).serialNumber;
}
