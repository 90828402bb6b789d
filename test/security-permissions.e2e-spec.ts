// Guards the permissions file as users meet it through the peers, on both
// wires: a client allowed to publish on orders.* may not delete orders.eu or
// subscribe to billing, deny wins, a principal without an entry may do
// nothing, a topic is deleted only by its creator or an admin (also through
// a peer that forwards to the host), a client without a certificate is
// known by its token, and an edited file applies on SIGHUP without a
// restart (a revoked token even on an open connection), a broken one being
// refused while the old one stays.
import { PeerClient } from '@p2p-pubsub/client';
import { createHash } from 'crypto';
import { ErrorCodes } from '@p2p-pubsub/protocol';
import { BareJsonClient } from './support/bare-json';
import { expectCode } from './support/expect-error';
import { readLog } from './support/pull';
import { CertFiles, SecureCluster, TestPki, startSecureCluster } from './support/secure-cluster';

const CAROL_TOKEN = 'c4r0l-6f1d2a9e8b7c';

describe('permissions with security on', () => {
  let pki: TestPki;
  let cluster: SecureCluster;
  let alice: CertFiles;
  let bob: CertFiles;
  let ops: CertFiles;
  const permissions = {
    'client/alice': {
      allow: { publish: ['orders.*'], subscribe: ['orders.*'], create: ['orders.*'] },
      deny: { publish: ['orders.audit'] },
    },
    'client/bob': {
      allow: {
        publish: ['orders.*'],
        subscribe: ['orders.*'],
        create: ['orders.*', 'billing'],
        delete: ['orders.*'],
      },
    },
    'client/ops': { admin: true },
    'client/carol': {
      tokens: [`sha256:${createHash('sha256').update(CAROL_TOKEN).digest('hex')}`],
      allow: { publish: ['orders.*'] },
    },
  };

  beforeAll(async () => {
    pki = new TestPki();
    alice = pki.client('alice');
    bob = pki.client('bob');
    ops = pki.client('ops');
    cluster = await startSecureCluster(2, { pki, permissions });
    // Each test may run first (jest --randomize): the topics are made here.
    await cluster.peerClient(0, bob).createTopic('billing');
    await cluster.peerClient(0, alice).createTopic('orders.eu');
    await cluster.peerClient(0, alice).createTopic('orders.audit');
  });

  afterAll(async () => {
    await cluster?.stop();
    pki?.remove();
  });

  const on = (peer: number, files: CertFiles): PeerClient => cluster.peerClient(peer, files);

  it('lets alice publish on orders.* but not delete orders.eu nor subscribe to billing', async () => {
    expect(await on(0, alice).publish('orders.eu', 'first')).toMatchObject({ status: 'success' });
    const deleted = await expectCode(on(0, alice).deleteTopic('orders.eu'), ErrorCodes.Forbidden);
    expect(deleted.message).toBe("client/alice may not delete on topic 'orders.eu'");
    await expectCode(on(1, alice).subscribe('billing'), ErrorCodes.Forbidden);
    await expectCode(on(0, alice).pull('billing'), ErrorCodes.Forbidden);
    await expectCode(on(0, alice).publish('billing', 'x'), ErrorCodes.Forbidden);
    // Still there, and nothing of alice's was published on billing.
    expect((await readLog(on(0, ops), 'billing')).map((record) => record.message)).not.toContain(
      'x',
    );
    expect((await readLog(on(0, alice), 'orders.eu')).map((record) => record.message)).toContain(
      'first',
    );
  });

  it('lets deny win over allow', async () => {
    await expectCode(on(0, alice).publish('orders.audit', 'x'), ErrorCodes.Forbidden);
    expect(await on(0, bob).publish('orders.audit', 'y')).toMatchObject({ status: 'success' });
  });

  it('lets a principal without an entry do nothing', async () => {
    const mallory = pki.client('mallory');
    await expectCode(on(0, mallory).createTopic('orders.m'), ErrorCodes.Forbidden);
    await expectCode(on(0, mallory).publish('orders.eu', 'x'), ErrorCodes.Forbidden);
    await expectCode(on(1, mallory).subscribe('orders.eu'), ErrorCodes.Forbidden);
    await expectCode(on(0, mallory).pull('orders.eu'), ErrorCodes.Forbidden);
    await expectCode(on(0, mallory).listTopics(), ErrorCodes.Forbidden);
    await expectCode(cluster.indexerClient(mallory).lookup('orders.eu'), ErrorCodes.Forbidden);
  });

  it('checks the caller again at the host when a peer forwards', async () => {
    // orders.eu is hosted on peer 0; peer 1 forwards.
    expect(await on(1, alice).publish('orders.eu', 'forwarded')).toMatchObject({
      status: 'success',
    });
    await expectCode(on(1, alice).publish('orders.audit', 'x'), ErrorCodes.Forbidden);
    await expectCode(on(1, pki.client('mallory')).publish('orders.eu', 'x'), ErrorCodes.Forbidden);
  });

  it('lets only the creator or an admin delete a topic', async () => {
    await on(0, alice).createTopic('orders.us');
    await on(0, bob).createTopic('orders.bob');
    // bob may delete orders.*, but did not create orders.us: not on its host, nor through another peer.
    const notCreator = await expectCode(on(0, bob).deleteTopic('orders.us'), ErrorCodes.Forbidden);
    expect(notCreator.message).toMatch(/only its creator \(client\/alice\) or an admin may/);
    await expectCode(on(1, bob).deleteTopic('orders.us'), ErrorCodes.Forbidden);
    expect(await on(1, bob).deleteTopic('orders.bob')).toMatchObject({ status: 'success' });
    expect(await on(1, ops).deleteTopic('orders.us')).toMatchObject({ status: 'success' });
    await expectCode(on(0, alice).publish('orders.us', 'x'), ErrorCodes.TopicNotFound);
  });

  it('applies the same permissions to the bare JSON wire', async () => {
    const bare = await BareJsonClient.connectTls(cluster.peers[0].port, pki.tls(alice));
    expect(
      await bare.request({ command: 'publish', topic: 'orders.eu', message: 'bare' }),
    ).toMatchObject({
      status: 'success',
    });
    expect(await bare.request({ command: 'subscribe', topic: 'billing' })).toMatchObject({
      status: 'error',
      code: 'FORBIDDEN',
    });
    await bare.close();
  });

  it('knows a client without a certificate by its token, on both wires', async () => {
    const carol = cluster.peerClient(0, undefined, CAROL_TOKEN);
    expect(await carol.publish('orders.eu', 'from carol')).toMatchObject({ status: 'success' });
    await expectCode(carol.subscribe('billing'), ErrorCodes.Forbidden);
    await expectCode(
      cluster.peerClient(0, undefined, 'not-a-token').publish('orders.eu', 'x'),
      ErrorCodes.Unauthenticated,
    );
    const bare = await BareJsonClient.connectTls(cluster.peers[0].port, pki.tls());
    const command = { command: 'publish', topic: 'orders.eu', message: 'bare carol' };
    expect(await bare.request({ ...command, token: CAROL_TOKEN })).toMatchObject({
      status: 'success',
    });
    expect(await bare.request(command)).toMatchObject({ code: 'UNAUTHENTICATED' });
    await bare.close();
  });

  it('revokes a token on SIGHUP, on an open connection too', async () => {
    const peer = cluster.peers[0].process;
    const carol = cluster.peerClient(0, undefined, CAROL_TOKEN);
    expect(await carol.publish('orders.eu', 'before')).toMatchObject({ status: 'success' });
    let mark = peer.output.length;
    const { 'client/carol': _carol, ...withoutCarol } = permissions;
    cluster.writePermissions(withoutCarol);
    peer.signal('SIGHUP');
    await peer.waitForLog(/reloaded permissions for \d+ principal/, mark);
    await expectCode(carol.publish('orders.eu', 'after'), ErrorCodes.Unauthenticated);

    mark = peer.output.length;
    cluster.writePermissions(permissions);
    peer.signal('SIGHUP');
    await peer.waitForLog(/reloaded permissions for \d+ principal/, mark);
  });

  it('reloads the file on SIGHUP, and keeps the old one when the new one is broken', async () => {
    const peer = cluster.peers[0].process;
    await expectCode(on(0, alice).publish('billing', 'x'), ErrorCodes.Forbidden);

    let mark = peer.output.length;
    cluster.writePermissions({
      ...permissions,
      'client/alice': {
        allow: { ...permissions['client/alice'].allow, publish: ['orders.*', 'billing'] },
      },
    });
    peer.signal('SIGHUP');
    await peer.waitForLog(/reloaded permissions for \d+ principal/, mark);
    expect(await on(0, alice).publish('billing', 'now allowed')).toMatchObject({
      status: 'success',
    });
    expect(peer.running).toBe(true);

    mark = peer.output.length;
    pki.write(
      'permissions.json',
      '{"principals": {"client/alice": {"allow": {"publish": "billing"}}}}',
    );
    peer.signal('SIGHUP');
    await peer.waitForLog(
      /permissions not reloaded, the previous ones stay in use: .*must be a list/,
      mark,
    );
    expect(await on(0, alice).publish('billing', 'still allowed')).toMatchObject({
      status: 'success',
    });

    // The other tests expect the file as it was.
    mark = peer.output.length;
    cluster.writePermissions(permissions);
    peer.signal('SIGHUP');
    await peer.waitForLog(/reloaded permissions for \d+ principal/, mark);
  });
});
