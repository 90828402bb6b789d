// Guards the packages as a user gets them: `npm pack` tarballs of protocol,
// wire and client install into a fresh NestJS application outside the
// repository, which compiles with tsc (strict, the packages' .d.ts checked)
// and runs against a real cluster: publish, receive, and every failure as a
// PubSubError with a code. The client's core must install and run without
// Nest at all, its `pubsub` bin included. The README's Nest examples are the
// application's own files.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { Server, createServer } from 'net';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Cluster, startCluster } from './support/cluster';
import { DEADLINE_MS } from './support/deadline';
import { Outcome, runToEnd } from './support/processes';

const ROOT = process.cwd();
const FIXTURE = join(ROOT, 'test/fixtures/nest-app');
const PACKAGES = ['libs/protocol', 'libs/wire', 'libs/client'];
/** npm install and tsc take 20-60 s each on a busy two-core machine. */
const INSTALL_TIMEOUT_MS = 5 * DEADLINE_MS;

interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `command` to its end (through the launcher, so that it dies with the test). */
function exec(command: string, args: string[], { cwd, env }: RunOptions = {}): Promise<Outcome> {
  return runToEnd({ command, args, cwd, env, timeoutMs: INSTALL_TIMEOUT_MS });
}

async function ok(command: string, args: string[], options: RunOptions = {}): Promise<string> {
  const run = await exec(command, args, options);
  if (run.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${run.code ?? run.signal}:\n${run.stdout}\n${run.stderr}`,
    );
  }
  return run.stdout;
}

/** The version the repository itself installed: the application gets the same. */
function installedVersion(name: string): string {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** npm install from the cache the repository's own install filled; the registry only for what is missing. */
function npmInstall(dir: string): Promise<string> {
  return ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: dir,
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('the packages, installed into a fresh Nest application', () => {
  let work: string;
  let tarballs: Record<string, string>;
  let cluster: Cluster;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'p2p-pubsub-packages-'));
    const packed = JSON.parse(
      await ok('npm', [
        'pack',
        ...PACKAGES.flatMap((dir) => ['-w', dir]),
        '--pack-destination',
        work,
        '--json',
      ]),
    ) as Array<{ name: string; filename: string }>;
    tarballs = Object.fromEntries(
      packed.map(({ name, filename }) => [name, `file:${join(work, filename)}`]),
    );
    cluster = await startCluster(1);
  }, INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(
    'packs built JavaScript, type declarations and a README, nothing else',
    async () => {
      const listed = JSON.parse(
        await ok('npm', ['pack', '--dry-run', '--json', ...PACKAGES.flatMap((dir) => ['-w', dir])]),
      ) as Array<{ name: string; files: Array<{ path: string }> }>;
      for (const { name, files } of listed) {
        const paths = files.map((file) => file.path);
        expect({ name, readme: paths.includes('README.md') }).toEqual({ name, readme: true });
        const stray = paths.filter(
          (path) => !/^(dist\/.*\.(js|d\.ts)|README\.md|package\.json)$/.test(path),
        );
        expect({ name, stray }).toEqual({ name, stray: [] });
        expect(paths.some((path) => path.endsWith('.d.ts'))).toBe(true);
      }
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'compiles strictly and publishes, receives and fails with codes against a cluster',
    async () => {
      const app = join(work, 'orders-app');
      mkdirSync(app);
      cpSync(join(FIXTURE, 'src'), join(app, 'src'), { recursive: true });
      cpSync(join(FIXTURE, 'tsconfig.json'), join(app, 'tsconfig.json'));
      const nest = ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', '@nestjs/config'];
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify({
          name: 'orders-app',
          version: '0.0.0',
          private: true,
          dependencies: {
            ...tarballs,
            ...Object.fromEntries(
              [...nest, 'reflect-metadata', 'rxjs'].map((name) => [name, installedVersion(name)]),
            ),
          },
          devDependencies: { '@types/node': installedVersion('@types/node') },
        }),
      );
      await npmInstall(app);
      await ok(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app]);

      const silent = createServer(() => undefined);
      const refusing = createServer();
      const [silentPort, refusingPort] = [await listen(silent), await listen(refusing)];
      // Bound a moment ago and closed: nothing listens there now.
      await new Promise((resolve) => refusing.close(resolve));
      const peerPort = cluster.peers[0].port;
      try {
        const output = await ok(process.execPath, [join(app, 'dist/main.js')], {
          cwd: app,
          env: {
            PUBSUB_PEER: `127.0.0.1:${peerPort}`,
            PEER_PORT: String(peerPort),
            SILENT_PEER: `127.0.0.1:${silentPort}`,
            REFUSING_PEER: `127.0.0.1:${refusingPort}`,
          },
        });
        const results = JSON.parse(output);
        expect(results.published).toEqual([
          expect.objectContaining({ status: 'success', topic: 'orders', offset: 0 }),
          expect.objectContaining({ offset: 1 }),
        ]);
        expect(results.received).toEqual([
          { id: 1, item: 'book' },
          { id: 2, item: 'lamp' },
        ]);
        expect(results.topicNotFound).toMatchObject({ pubSubError: true, code: 'TOPIC_NOT_FOUND' });
        expect(results.unknownPattern).toMatchObject({
          pubSubError: true,
          code: 'UNKNOWN_COMMAND',
        });
        expect(results.invalid).toMatchObject({ pubSubError: true, code: 'VALIDATION_FAILED' });
        expect(results.refused).toMatchObject({ pubSubError: true, code: 'PEER_UNAVAILABLE' });
        expect(results.refused.message).toMatch(/ECONNREFUSED/);
        expect(results.timedOut).toMatchObject({ pubSubError: true, code: 'PEER_UNAVAILABLE' });
        expect(results.timedOut.message).toMatch(/no reply within 300 ms/);
        expect(results.billed).toEqual([
          { order: { id: 1, item: 'book' }, offset: 0, publishedAt: expect.any(Number) },
          { order: { id: 2, item: 'lamp' }, offset: 1, publishedAt: expect.any(Number) },
        ]);
        expect(results.weather).toMatchObject({ status: 'success', topic: 'Weather', offset: 0 });
        expect(results.proxyUnknownPattern).toEqual({
          other: {
            status: 'error',
            code: 'UNKNOWN_COMMAND',
            message: 'Unknown pattern "no_such_pattern"',
          },
        });
      } finally {
        silent.close();
      }
    },
    INSTALL_TIMEOUT_MS,
  );

  it(
    'installs and runs the core and its pubsub bin without Nest',
    async () => {
      const bare = join(work, 'bare');
      mkdirSync(bare);
      writeFileSync(
        join(bare, 'package.json'),
        JSON.stringify({ name: 'bare', version: '0.0.0', private: true, dependencies: tarballs }),
      );
      await npmInstall(bare);
      expect(existsSync(join(bare, 'node_modules/@nestjs'))).toBe(false);
      expect(existsSync(join(bare, 'node_modules/rxjs'))).toBe(false);
      const bin = join(bare, 'node_modules/.bin/pubsub');
      expect((await exec(bin, ['--help'])).code).toBe(0);
      const peer = `127.0.0.1:${cluster.peers[0].port}`;
      await ok(bin, ['create-topic', 'Bare', '--peer', peer]);
      await ok(bin, ['pub', 'Bare', 'one', '--peer', peer]);
      const script = `
      const { PeerClient } = require('@p2p-pubsub/client');
      const peer = new PeerClient({ host: '127.0.0.1', port: ${cluster.peers[0].port} });
      peer.publish('Bare', 'three')
        .then(() => peer.pull('Bare', { consumer: 'bare' }))
        .then((reply) => console.log(JSON.stringify(reply.messages.map((m) => m.message))))
        .finally(() => peer.close());
    `;
      const pulled = await ok(process.execPath, ['-e', script], { cwd: bare });
      expect(JSON.parse(pulled)).toEqual(['one', 'three']);
    },
    INSTALL_TIMEOUT_MS,
  );

  it('shows in the README the Nest examples this application compiles', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const files = [
      'weather.module.ts',
      'orders.service.ts',
      'app.module.ts',
      'billing.module.ts',
      'billing.main.ts',
    ];
    for (const file of files) {
      const source = readFileSync(join(FIXTURE, 'src', file), 'utf8');
      expect({ file, inReadme: readme.includes(source.trimEnd()) }).toEqual({
        file,
        inReadme: true,
      });
    }
  });
});
