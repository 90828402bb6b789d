// Guards PubSubServer, the transport strategy: a Nest microservice's
// @EventPattern handlers get their topic's messages in offset order as they
// are published, with the context (topic, offset, publishedAt); the strategy
// subscribes its peer by itself; a message is acknowledged only once its
// handler's promise or Observable completes, so an application that stops
// mid-message gets it again; a failing handler is retried, then the message
// is skipped and counted, or dead-lettered; with security on it consumes
// over TLS as the client its token names.
import 'reflect-metadata';
import { Controller, INestMicroservice, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload, RpcException } from '@nestjs/microservices';
import { PeerClient } from '@p2p-pubsub/client';
import { PubSubContext, PubSubServer, PubSubServerOptions } from '@p2p-pubsub/client/nest';
import { Observable } from 'rxjs';
import { createHash } from 'crypto';
import { Cluster, startCluster } from './support/cluster';
import { SecureCluster, TestPki, startSecureCluster } from './support/secure-cluster';
import { waitFor } from './support/wait';

interface Delivery {
  payload: unknown;
  topic: string;
  offset: number;
  publishedAt: number;
  attempt: number;
}

/** What the handlers do, set by each test; what they saw, read by it. */
@Injectable()
class Behaviour {
  readonly seen: Delivery[] = [];
  /** Throws for a payload this returns true for. */
  fails: (payload: unknown) => boolean = () => false;
  /** A handler call that never ends, for the payloads this returns true for. */
  hangs: (payload: unknown) => boolean = () => false;

  record(payload: unknown, context: PubSubContext): void {
    this.seen.push({
      payload,
      topic: context.getTopic(),
      offset: context.getOffset(),
      publishedAt: context.getPublishedAt(),
      attempt: context.getAttempt(),
    });
  }
}

@Controller()
class OrdersController {
  constructor(private readonly behaviour: Behaviour) {}

  // Nest 12 types the arguments after an event's payload as unknown; the
  // type argument picks the untyped overload, so the context can be typed.
  @EventPattern<string>('orders')
  async order(@Payload() payload: unknown, @Ctx() context: PubSubContext): Promise<void> {
    this.behaviour.record(payload, context);
    if (this.behaviour.hangs(payload)) await new Promise(() => undefined);
    // An RpcException's error reaches the dead letter; any other error is
    // what Nest's exception layer makes of it ("Internal server error").
    if (this.behaviour.fails(payload)) throw new RpcException(`cannot take ${String(payload)}`);
  }

  /** Acknowledged when the Observable completes, not when it first emits. */
  @EventPattern<string>('invoices')
  invoice(@Payload() payload: unknown, @Ctx() context: PubSubContext): Observable<number> {
    return new Observable((subscriber) => {
      this.behaviour.record(payload, context);
      subscriber.next(1);
      if (this.behaviour.hangs(payload)) return;
      setImmediate(() => subscriber.complete());
    });
  }
}

@Module({ controllers: [OrdersController], providers: [Behaviour] })
class BillingModule {}

describe('PubSubServer, the transport strategy', () => {
  let cluster: Cluster;
  let host: PeerClient;
  const apps: INestMicroservice[] = [];

  async function startApp(
    options: Partial<PubSubServerOptions> = {},
  ): Promise<{ app: INestMicroservice; behaviour: Behaviour; server: PubSubServer }> {
    const server = new PubSubServer({
      // The second peer: it neither hosts nor subscribes to the topics until the strategy does.
      peer: `127.0.0.1:${cluster.peers[1].port}`,
      consumer: 'billing',
      retryBackoff: { initialMs: 5, maxMs: 20 },
      ...options,
    });
    const app = await NestFactory.createMicroservice(BillingModule, {
      strategy: server,
      logger: false,
    });
    apps.push(app);
    await app.listen();
    return { app, behaviour: app.get(Behaviour), server };
  }

  beforeAll(async () => {
    cluster = await startCluster(2);
    host = cluster.clients[0];
    await host.createTopic('orders');
    await host.createTopic('invoices');
    await host.createTopic('orders.dead');
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  afterAll(() => cluster?.stop());

  it('hands each message to its @EventPattern handler in offset order, with its context', async () => {
    const { behaviour } = await startApp();
    const before = Date.now();
    for (let id = 0; id < 100; id++) await host.publish('orders', JSON.stringify({ id }));
    await host.publish('orders', 'order not JSON');
    // A new consumer starts at the oldest message: the other tests' messages
    // (strings with their own prefixes) may come first, in any test order.
    const ours = () =>
      behaviour.seen.filter(
        (delivery) => typeof delivery.payload === 'object' || delivery.payload === 'order not JSON',
      );
    await waitFor(() => ours().length === 101);
    expect(
      ours()
        .slice(0, 100)
        .map((delivery) => delivery.payload),
    ).toEqual(Array.from({ length: 100 }, (_, id) => ({ id })));
    expect(ours()[100].payload).toBe('order not JSON');
    const offsets = behaviour.seen
      .filter((delivery) => delivery.topic === 'orders')
      .map((delivery) => delivery.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(ours()[0]).toMatchObject({ topic: 'orders', attempt: 1 });
    expect(ours()[0].publishedAt).toBeGreaterThanOrEqual(before - 1_000);
    // The strategy subscribed the second peer to both topics of its handlers.
    const { subscribed } = await cluster.clients[1].listTopics();
    expect(subscribed.map((entry) => entry.topic).sort()).toEqual(['invoices', 'orders']);
  });

  /** Each test's payloads, told apart from earlier tests' (new consumers start at the oldest message). */
  const payloadsOf = (behaviour: Behaviour, prefix: string) =>
    behaviour.seen
      .map((delivery) => delivery.payload)
      .filter((payload) => typeof payload === 'string' && payload.startsWith(prefix));

  it('acknowledges only completed handlers: a message in progress when the app stops comes again', async () => {
    const first = await startApp({ consumer: 'crashy' });
    first.behaviour.hangs = (payload) => payload === 'crash-2';
    for (let id = 1; id <= 3; id++) await host.publish('orders', `crash-${id}`);
    await waitFor(() => payloadsOf(first.behaviour, 'crash-').includes('crash-2'));
    expect(payloadsOf(first.behaviour, 'crash-')).toEqual(['crash-1', 'crash-2']);
    await first.app.close();
    const second = await startApp({ consumer: 'crashy' });
    await waitFor(() => payloadsOf(second.behaviour, 'crash-').length >= 2);
    expect(payloadsOf(second.behaviour, 'crash-')).toEqual(['crash-2', 'crash-3']);
  });

  it('acknowledges an Observable handler once it completes', async () => {
    const first = await startApp({ consumer: 'observer' });
    first.behaviour.hangs = (payload) => payload === 'open';
    await host.publish('invoices', 'done');
    await host.publish('invoices', 'open');
    const invoices = (behaviour: Behaviour) =>
      behaviour.seen.filter((delivery) => delivery.topic === 'invoices').map((d) => d.payload);
    await waitFor(() => invoices(first.behaviour).length === 2);
    await first.app.close();
    const second = await startApp({ consumer: 'observer' });
    await waitFor(() => invoices(second.behaviour).length >= 1);
    expect(invoices(second.behaviour)).toEqual(['open']);
  });

  it('retries a failing handler, then skips the message and counts it', async () => {
    const { behaviour, server } = await startApp({ consumer: 'retrying', retries: 2 });
    behaviour.fails = (payload) => payload === 'retry-poison';
    await host.publish('orders', 'retry-poison');
    await host.publish('orders', 'retry-fine');
    await waitFor(() => payloadsOf(behaviour, 'retry-').includes('retry-fine'));
    const attempts = behaviour.seen.filter((delivery) => delivery.payload === 'retry-poison');
    expect(attempts.map((delivery) => delivery.attempt)).toEqual([1, 2, 3]);
    expect(server.stats()).toMatchObject({ failures: 3, skipped: 1, deadLettered: 0 });
  });

  it('sends a message whose retries are spent to the dead-letter topic', async () => {
    const { behaviour, server } = await startApp({
      consumer: 'lettering',
      retries: 1,
      deadLetterTopic: 'orders.dead',
    });
    behaviour.fails = (payload) => payload === 'dead-bad';
    const { offset } = await host.publish('orders', 'dead-bad');
    await waitFor(() => server.stats().deadLettered === 1);
    const { messages } = await host.pull('orders.dead', { consumer: 'inspector' });
    expect(messages.map((message) => JSON.parse(message.message))).toEqual([
      expect.objectContaining({
        topic: 'orders',
        offset,
        message: 'dead-bad',
        error: expect.stringContaining('cannot take'),
      }),
    ]);
  });
});

describe('PubSubServer with security on', () => {
  const TOKEN = 'billing-service-token';
  let pki: TestPki;
  let cluster: SecureCluster;

  beforeAll(async () => {
    pki = new TestPki();
    const admin = pki.client('admin');
    cluster = await startSecureCluster(1, {
      pki,
      permissions: {
        'client/admin': { admin: true },
        'client/billing': {
          tokens: [`sha256:${createHash('sha256').update(TOKEN).digest('hex')}`],
          allow: { subscribe: ['orders', 'invoices'] },
        },
      },
    });
    for (const topic of ['orders', 'invoices']) {
      await cluster.peerClient(0, admin).createTopic(topic);
    }
    await cluster.peerClient(0, admin).publish('orders', '{"id":1}');
  });

  afterAll(async () => {
    await cluster?.stop();
    pki?.remove();
  });

  it('consumes over TLS as the client its token names', async () => {
    const server = new PubSubServer({
      peer: `127.0.0.1:${cluster.peers[0].port}`,
      consumer: 'billing',
      tls: pki.tls(undefined, 'peer'),
      token: TOKEN,
      subscribeFrom: 'earliest',
    });
    const app = await NestFactory.createMicroservice(BillingModule, {
      strategy: server,
      logger: false,
    });
    try {
      await app.listen();
      const behaviour = app.get(Behaviour);
      await waitFor(() => behaviour.seen.length > 0);
      expect(behaviour.seen[0]).toMatchObject({ payload: { id: 1 }, topic: 'orders' });
    } finally {
      await app.close();
    }
  });
});
