// Guards live consumption (`consume`): messages pushed in offset order as
// they are published, on the host and on a subscriber peer; never more than
// the credit out beyond what was acknowledged; acknowledgements moving the
// consumer durably, so a new stream, or one after the peer restarted,
// resumes from them; heartbeats from the peer on an idle stream; and the
// peer ending a stream by itself when its client goes away or goes silent;
// with security on, streams over TLS only to a client allowed to subscribe,
// and only while it is (a permissions reload ends one it no longer allows).
import {
  ConsumedMessage,
  LiveConsumer,
  LiveConsumerOptions,
  PeerClient,
  PubSubError,
} from '@p2p-pubsub/client';
import { PeerStreamPatterns } from '@p2p-pubsub/protocol';
import { Cluster, startCluster } from './support/cluster';
import { DataDirs } from './support/data-dirs';
import { RawConnection, nestFrame, parseNestFrames } from './support/raw-socket';
import { CertFiles, SecureCluster, TestPki, startSecureCluster } from './support/secure-cluster';
import { waitFor } from './support/wait';

/** A LiveConsumer that records what it is given; acknowledges each message unless told not to. */
class Recorder {
  readonly messages: ConsumedMessage[] = [];
  readonly starts: number[] = [];
  readonly consumer: LiveConsumer;

  constructor(port: number, options: LiveConsumerOptions, autoAck = true) {
    this.consumer = new LiveConsumer({ host: '127.0.0.1', port }, options, {
      message: (message) => {
        this.messages.push(message);
        if (autoAck) this.consumer.ack(message.offset);
      },
      started: (offset) => this.starts.push(offset),
    });
    this.consumer.start();
  }

  get texts(): string[] {
    return this.messages.map((message) => message.message);
  }

  async started(): Promise<void> {
    await waitFor(() => this.starts.length > 0, { what: 'the stream to start' });
  }
}

describe('live consumption (consume)', () => {
  let cluster: Cluster;
  let dataDirs: DataDirs;
  let host: PeerClient;
  let subscriber: PeerClient;
  const recorders: Recorder[] = [];

  function record(peer: number, options: LiveConsumerOptions, autoAck = true): Recorder {
    const recorder = new Recorder(cluster.peers[peer].port, options, autoAck);
    recorders.push(recorder);
    return recorder;
  }

  beforeAll(async () => {
    dataDirs = new DataDirs();
    cluster = await startCluster(2, { dataDirs });
    [host, subscriber] = cluster.clients;
  });

  afterEach(async () => {
    await Promise.all(recorders.splice(0).map((recorder) => recorder.consumer.close()));
  });

  afterAll(async () => {
    await cluster?.stop();
    dataDirs?.removeAll();
  });

  it('pushes every message in offset order as it is published, on the host and a subscriber peer', async () => {
    await host.createTopic('Live');
    await subscriber.subscribe('Live', 'earliest');
    const onHost = record(0, { topic: 'Live', consumer: 'app' });
    const onSubscriber = record(1, { topic: 'Live', consumer: 'app' });
    await Promise.all([onHost.started(), onSubscriber.started()]);
    const sent = Array.from({ length: 500 }, (_, i) => `message ${i}`);
    for (const message of sent) await host.publish('Live', message);
    for (const recorder of [onHost, onSubscriber]) {
      await waitFor(() => recorder.messages.length >= sent.length, { what: 'all 500 messages' });
      expect(recorder.texts).toEqual(sent);
      expect(recorder.messages.map((message) => message.offset)).toEqual(sent.map((_, i) => i));
    }
  });

  it('never has more than its credit out beyond what was acknowledged', async () => {
    await host.createTopic('Credit');
    const stalled = record(0, { topic: 'Credit', consumer: 'stalled', credit: 10 }, false);
    const flowing = record(0, { topic: 'Credit', consumer: 'flowing', credit: 10 });
    await Promise.all([stalled.started(), flowing.started()]);
    for (let i = 0; i < 50; i++) await host.publish('Credit', `m${i}`);
    // The peer pushes to both streams on each append: once the flowing one
    // has everything, the stalled one has been given all it ever will be.
    await waitFor(() => flowing.messages.length === 50);
    await waitFor(() => stalled.messages.length === 10);
    expect(stalled.messages.map((message) => message.offset)).toEqual([...Array(10).keys()]);
    // Acknowledging five returns five of the credit.
    for (let offset = 0; offset < 5; offset++) stalled.consumer.ack(offset);
    await waitFor(() => stalled.messages.length === 15);
    expect(stalled.messages.at(-1)?.offset).toBe(14);
  });

  it('resumes a consumer from what it acknowledged, redelivering the rest', async () => {
    await host.createTopic('Resume');
    for (let i = 0; i < 20; i++) await host.publish('Resume', `r${i}`);
    const first = record(0, { topic: 'Resume', consumer: 'worker' }, false);
    await waitFor(() => first.messages.length === 20);
    for (let offset = 0; offset < 12; offset++) first.consumer.ack(offset);
    await first.consumer.close();
    const again = record(0, { topic: 'Resume', consumer: 'worker' });
    await waitFor(() => again.messages.length === 8);
    expect(again.starts).toEqual([12]);
    expect(again.messages.map((message) => message.offset)).toEqual(
      [...Array(8).keys()].map((i) => i + 12),
    );
    // The position is the one pull moves too.
    await again.consumer.close();
    const pulled = await host.pull('Resume', { consumer: 'worker' });
    expect(pulled.messages).toEqual([]);
    expect(pulled.nextOffset).toBe(20);
  });

  it('reconnects after its peer restarts and goes on from the acknowledged position', async () => {
    await host.createTopic('Restart');
    await subscriber.subscribe('Restart');
    const recorder = record(1, { topic: 'Restart', consumer: 'restart', heartbeatMs: 200 });
    await recorder.started();
    await host.publish('Restart', 'before');
    await waitFor(() => recorder.texts.includes('before'));
    // Acknowledgements leave within 10 ms; the position is then on the peer.
    await waitFor(
      async () =>
        (
          await subscriber.send<{ nextOffset: number }>(PeerStreamPatterns.ConsumeAck, {
            topic: 'Restart',
            consumer: 'restart',
            stream: 'probe',
          })
        ).nextOffset ===
        recorder.messages.at(-1)!.offset + 1,
    );
    const peer = cluster.peers[1];
    const port = peer.port;
    await peer.stop('SIGKILL');
    await host.publish('Restart', 'while down');
    await peer.start(['--port', String(port)]);
    await host.publish('Restart', 'after');
    await waitFor(() => recorder.texts.includes('after'), { timeoutMs: 30_000 });
    expect(recorder.texts.slice(-3)).toEqual(['before', 'while down', 'after']);
    expect(recorder.starts.length).toBeGreaterThanOrEqual(2);
  });

  it('sends heartbeats on an idle stream, and ends a stream whose client goes silent', async () => {
    await host.createTopic('Idle');
    const raw = new RawConnection(cluster.peers[0].port);
    const consume = {
      topic: 'Idle',
      consumer: 'silent',
      stream: 's1',
      credit: 5,
      heartbeatMs: 100,
    };
    await raw.write(nestFrame({ pattern: PeerStreamPatterns.Consume, data: consume, id: 1 }));
    // Never acknowledging, never beating: three missed intervals end it.
    const frames = await waitFor(() => {
      const parsed = parseNestFrames(raw.text);
      return parsed.some((frame) => frame.isDisposed) && parsed;
    });
    const kinds = frames.map((frame) => (frame.response as { type?: string } | undefined)?.type);
    expect(kinds[0]).toBe('started');
    expect(kinds).toContain('heartbeat');
    expect(frames.at(-1)).toMatchObject({ id: 1, isDisposed: true });
    expect(raw.isClosed).toBe(false);
    raw.destroy();
  });

  it('ends a stream when its connection closes', async () => {
    await host.createTopic('Gone');
    const mark = cluster.peers[0].output.length;
    const raw = new RawConnection(cluster.peers[0].port);
    const consume = { topic: 'Gone', consumer: 'gone', stream: 'first', credit: 5 };
    await raw.write(nestFrame({ pattern: PeerStreamPatterns.Consume, data: consume, id: 1 }));
    await waitFor(() => raw.text.includes('started'));
    raw.destroy();
    await cluster.peers[0].waitForLog(/stream first ended \(its connection closed\)/, mark);
    const next = record(0, { topic: 'Gone', consumer: 'gone' });
    await next.started();
    await host.publish('Gone', 'x');
    await waitFor(() => next.texts.includes('x'));
    expect(cluster.peers[0].output.slice(mark).join('\n')).not.toMatch(/takes over/);
  });
});

describe('live consumption with security on', () => {
  let pki: TestPki;
  let cluster: SecureCluster;
  let alice: CertFiles;
  const permissions = {
    'client/alice': { allow: { subscribe: ['orders.*'], publish: ['orders.*'] } },
    'client/bob': { allow: { create: ['>'], publish: ['>'] } },
  };

  beforeAll(async () => {
    pki = new TestPki();
    alice = pki.client('alice');
    const bob = pki.client('bob');
    cluster = await startSecureCluster(1, { pki, permissions });
    for (const topic of ['orders.eu', 'orders.us', 'billing']) {
      await cluster.peerClient(0, bob).createTopic(topic);
    }
  });

  afterAll(async () => {
    await cluster?.stop();
    pki?.remove();
  });

  it('streams over TLS to a client allowed to subscribe, and refuses one that is not', async () => {
    const peer = cluster.peerClient(0, alice);
    const received: string[] = [];
    const errors: PubSubError[] = [];
    const allowed = peer.consume(
      { topic: 'orders.eu', consumer: 'alice' },
      {
        message: (message) => {
          received.push(message.message);
          allowed.ack(message.offset);
        },
      },
    );
    const refused = peer.consume(
      { topic: 'billing', consumer: 'alice' },
      { message: () => undefined, error: (error) => errors.push(error) },
    );
    allowed.start();
    refused.start();
    try {
      await peer.publish('orders.eu', 'over TLS');
      await waitFor(() => received.includes('over TLS'));
      await waitFor(() => errors.length > 0);
      expect(errors[0].code).toBe('FORBIDDEN');
    } finally {
      await Promise.all([allowed.close(), refused.close()]);
    }
  });

  it('ends a running stream with FORBIDDEN once a reloaded permissions file no longer lets its client subscribe', async () => {
    const peer = cluster.peerClient(0, alice);
    const service = cluster.peers[0].process;
    const received: string[] = [];
    const errors: PubSubError[] = [];
    const stream = peer.consume(
      { topic: 'orders.us', consumer: 'revoked' },
      {
        message: (message) => {
          received.push(message.message);
          stream.ack(message.offset);
        },
        error: (error) => errors.push(error),
      },
    );
    stream.start();
    try {
      await peer.publish('orders.us', 'while allowed');
      await waitFor(() => received.includes('while allowed'));
      const mark = service.output.length;
      cluster.writePermissions({
        ...permissions,
        'client/alice': { allow: { publish: ['orders.*'] } },
      });
      service.signal('SIGHUP');
      await service.waitForLog(/reloaded permissions for \d+ principal/, mark);
      // Allowed when it started, it does not run on past the reload.
      await waitFor(() => errors.length > 0);
      expect(errors[0].code).toBe('FORBIDDEN');
      await service.waitForLog(/client\/alice may no longer subscribe to it/, mark);
      await peer.publish('orders.us', 'after the reload');
      await expect(peer.pull('orders.us', { consumer: 'other' })).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      expect(received).not.toContain('after the reload');
    } finally {
      await stream.close();
      // The other test expects the file as it was.
      const mark = service.output.length;
      cluster.writePermissions(permissions);
      service.signal('SIGHUP');
      await service.waitForLog(/reloaded permissions for \d+ principal/, mark);
    }
  });
});
