// Guards PubSubClient, the ClientProxy: a refused connection is retried with
// backoff until the peer is up (the publish then succeeds once), a call that
// cannot be sent fails with VALIDATION_FAILED rather than Nest's own error,
// and the module's forRootAsync builds the client from injected providers.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PubSubError } from '@p2p-pubsub/client';
import { PubSubClient, PubSubModule } from '@p2p-pubsub/client/nest';
import { createServer } from 'net';
import type { AddressInfo } from 'net';
import { lastValueFrom } from 'rxjs';
import { Cluster, startCluster } from './support/cluster';
import { DEADLINE_MS } from './support/deadline';
import { peerProcess } from './support/processes';
import { DataDirs } from './support/data-dirs';

/** A port nothing listens on (bound a moment ago, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('PubSubClient, the ClientProxy', () => {
  let cluster: Cluster;
  const dataDirs = new DataDirs();

  beforeAll(async () => {
    cluster = await startCluster(1);
    await cluster.clients[0].createTopic('Retried');
  });

  afterAll(async () => {
    await cluster?.stop();
    dataDirs.removeAll();
  });

  it('retries a refused connection until the peer is up, then publishes once', async () => {
    const port = await freePort();
    const client = new PubSubClient({ peer: `127.0.0.1:${port}`, timeoutMs: DEADLINE_MS });
    const statuses: string[] = [];
    client.status.subscribe((status) => statuses.push(status));
    const late = peerProcess('late', cluster.indexer.port, [
      '--port',
      String(port),
      '--data-dir',
      dataDirs.make('late'),
    ]);
    try {
      // Refused (in a millisecond) long before the peer, started next, listens on that port.
      const published = lastValueFrom(client.emit('Retried', { n: 1 }));
      await late.start();
      expect(await published).toMatchObject({ status: 'success', topic: 'Retried' });
      // Stored once; another test publishes to the topic too, before or after (random order).
      const { messages } = await cluster.clients[0].pull('Retried', { consumer: 'once' });
      const ours = messages.filter((message) => message.message === '{"n":1}');
      expect(ours).toHaveLength(1);
      expect(statuses).toContain('connected');
    } finally {
      await client.close();
      await late.stop();
    }
  });

  it('fails a call that cannot be sent with VALIDATION_FAILED', async () => {
    const client = new PubSubClient({ peer: `127.0.0.1:${cluster.peers[0].port}` });
    const failures = await Promise.all([
      lastValueFrom(client.send('publish', undefined)).catch((error: unknown) => error),
      lastValueFrom(client.emit('Retried', null)).catch((error: unknown) => error),
      lastValueFrom(client.emit('Retried', 10n)).catch((error: unknown) => error),
    ]);
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(PubSubError);
      expect((failure as PubSubError).code).toBe('VALIDATION_FAILED');
    }
    await client.close();
  });

  it('builds the client from injected providers with forRootAsync', async () => {
    const PEER_ADDRESS = 'PEER_ADDRESS';
    @Module({
      providers: [{ provide: PEER_ADDRESS, useValue: `127.0.0.1:${cluster.peers[0].port}` }],
      exports: [PEER_ADDRESS],
    })
    class SettingsModule {}
    @Module({
      imports: [
        PubSubModule.forRootAsync({
          imports: [SettingsModule],
          inject: [PEER_ADDRESS],
          useFactory: (peer: string) => ({ peer }),
        }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const client = app.get(PubSubClient);
    expect(client.address).toBe(`127.0.0.1:${cluster.peers[0].port}`);
    expect(await lastValueFrom(client.emit('Retried', 'via DI'))).toMatchObject({
      status: 'success',
    });
    // Closing the application closes the client.
    await app.close();
    expect(client.unwrap<{ connected: boolean }>().connected).toBe(false);
  });
});
