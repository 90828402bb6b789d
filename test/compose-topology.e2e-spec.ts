// Guards the compose file against drifting from what the code accepts: there
// is no Docker engine here, so each compose service's own command and
// environment is started as a local process and the original's scenario is
// run against the result; each service's healthcheck command is run against
// its local process; and the monitoring profile's Prometheus targets and
// Grafana dashboard are checked against the services and their metrics.
import { execFileSync } from 'child_process';
import { PeerClient } from '@p2p-pubsub/client';
import { peerClient } from './support/clients';
import { readFileSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { scrape } from './support/ops';
import { ServiceProcess, runToEnd } from './support/processes';
import { expectCode } from './support/expect-error';
import { waitFor } from './support/wait';

interface ComposeService {
  build?: unknown;
  image?: string;
  profiles?: string[];
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  restart?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string };
  deploy?: { resources?: { limits?: { cpus?: string; memory?: string } } };
}

// `merge`: the services share their settings through YAML merge keys (`<<: *service`).
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

/** The cluster's own services; the monitoring profile's are the others. */
const APP_SERVICES = Object.keys(compose.services).filter(
  (name) => !compose.services[name].profiles,
);

/**
 * What the container network gives a service, mapped onto loopback: service
 * names and 0.0.0.0 become 127.0.0.1, a service's own port becomes 0 (the OS
 * picks a free one, and its ops port then too, so OPS_PORT is left out),
 * another service's port becomes where that one really listens, and the
 * data volume becomes a temporary directory.
 */
function localEnvironment(
  name: string,
  service: ComposeService,
  boundPorts: Map<string, number>,
  dataDir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.environment)) {
    if (APP_SERVICES.includes(value) || value === '0.0.0.0') env[key] = '127.0.0.1';
    else if (key === 'PORT') env[key] = '0';
    else if (key === 'OPS_PORT') continue;
    else if (key === 'DATA_DIR') env[key] = join(dataDir, name);
    else {
      const other = APP_SERVICES.find(
        (s) => s !== name && compose.services[s].ports?.some((p) => p.endsWith(`:${value}`)),
      );
      env[key] = other ? String(boundPorts.get(other)) : value;
    }
  }
  return env;
}

/** Runs a compose healthcheck's `test` here, with the service's OPS_PORT; returns its exit code. */
async function runHealthcheck(test: string[], opsPort: number): Promise<number | null> {
  const [form, program, ...args] = test;
  expect(form).toBe('CMD');
  // The image runs `node`; here the same node that runs the tests.
  expect(program).toBe('node');
  const outcome = await runToEnd({
    command: process.execPath,
    args,
    env: { OPS_PORT: String(opsPort) },
  });
  return outcome.code;
}

describe('the docker-compose topology, as local processes', () => {
  const processes = new Map<string, ServiceProcess>();
  const clients: PeerClient[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'compose-'));

  beforeAll(async () => {
    const boundPorts = new Map<string, number>();
    // The indexer first: the peers' environment points at it.
    const order = [...APP_SERVICES].sort((a) => (a === 'indexer' ? -1 : 1));
    for (const name of order) {
      const service = compose.services[name];
      const [program, entry, ...args] = service.command;
      expect(program).toBe('node');
      const child = new ServiceProcess(
        name,
        entry,
        args,
        localEnvironment(name, service, boundPorts, dataDir),
      );
      processes.set(name, child);
      // A peer is ready once registered with the indexer started before it.
      await child.start();
      boundPorts.set(name, child.port);
    }
    for (const name of ['peer1', 'peer2', 'peer3']) {
      clients.push(peerClient(processes.get(name)!.port));
    }
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all([...processes.values()].map((child) => child.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('declares an indexer and three peers published on 6000 and 5555-5557, with their ops ports', () => {
    expect([...APP_SERVICES].sort()).toEqual(['indexer', 'peer1', 'peer2', 'peer3']);
    expect(compose.services.indexer.ports).toEqual(['6000:6000', '7000:7000']);
    expect(['peer1', 'peer2', 'peer3'].map((name) => compose.services[name].ports)).toEqual([
      ['5555:5555', '6555:6555'],
      ['5556:5556', '6556:6556'],
      ['5557:5557', '6557:6557'],
    ]);
    for (const name of APP_SERVICES) {
      const { environment, ports } = compose.services[name];
      expect(ports).toContain(`${environment.OPS_PORT}:${environment.OPS_PORT}`);
    }
  });

  it('builds one image, once, and runs it for every service', () => {
    const builders = APP_SERVICES.filter((name) => compose.services[name].build !== undefined);
    expect(builders).toEqual(['indexer']);
    const images = new Set(APP_SERVICES.map((name) => compose.services[name].image));
    expect(images.size).toBe(1);
    expect([...images][0]).toBeDefined();
    expect(readFileSync('Dockerfile', 'utf8')).toMatch(/^FROM node:24-/m);
  });

  it('starts the peers once the indexer is healthy, restarts, stops gracefully and limits every service', () => {
    for (const name of ['peer1', 'peer2', 'peer3']) {
      expect(compose.services[name].depends_on).toEqual({
        indexer: { condition: 'service_healthy' },
      });
    }
    for (const name of APP_SERVICES) {
      const service = compose.services[name];
      expect(service.restart).toBe('unless-stopped');
      expect(service.stop_grace_period).toMatch(/^\d+s$/);
      expect(service.deploy?.resources?.limits).toEqual({
        cpus: expect.any(String),
        memory: expect.any(String),
      });
      expect(service.healthcheck?.test.slice(0, 2)).toEqual(['CMD', 'node']);
    }
  });

  it("passes each service's healthcheck against its local process, and fails it where nothing answers", async () => {
    for (const name of APP_SERVICES) {
      const local = processes.get(name)!;
      expect(local.opsPort).toBeDefined();
      expect(await runHealthcheck(compose.services[name].healthcheck!.test, local.opsPort!)).toBe(
        0,
      );
    }
    // Port 1: nothing listens there; a healthcheck that passed anyway would be no check.
    expect(await runHealthcheck(compose.services.indexer.healthcheck!.test, 1)).toBe(1);
  });

  it("has Prometheus scrape every service's ops port, and its config passes promtool", () => {
    const prometheus = parse(readFileSync('monitoring/prometheus.yml', 'utf8')) as {
      scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>;
    };
    const targets = prometheus.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((config) => config.targets),
    );
    expect(targets.sort()).toEqual(
      APP_SERVICES.map((name) => `${name}:${compose.services[name].environment.OPS_PORT}`).sort(),
    );
    expect(() =>
      execFileSync('promtool', ['check', 'config', 'monitoring/prometheus.yml'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('draws the Grafana dashboard from metrics the services serve, through the provisioned data source', async () => {
    const dashboard = JSON.parse(
      readFileSync('monitoring/grafana/dashboards/pubsub.json', 'utf8'),
    ) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
    const datasources = parse(
      readFileSync('monitoring/grafana/provisioning/datasources/prometheus.yml', 'utf8'),
    ) as { datasources: Array<{ uid: string; url: string }> };
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join('\n');
    for (const topic of ['publishes per second', 'lag', 'error', 'latency'])
      expect(titles).toContain(topic);

    const served = new Set<string>();
    for (const name of APP_SERVICES) {
      const text = await scrape(processes.get(name)!.opsPort!);
      for (const match of text.matchAll(/^# TYPE (\w+) (\w+)$/gm)) {
        served.add(match[1]);
        if (match[2] === 'histogram')
          for (const suffix of ['_bucket', '_sum', '_count']) served.add(`${match[1]}${suffix}`);
      }
    }
    const used = dashboard.panels
      .flatMap((panel) => panel.targets ?? [])
      .flatMap((target) => [...target.expr.matchAll(/\b(pubsub_\w+|process_\w+|nodejs_\w+)/g)])
      .map((match) => match[1]);
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((metric) => !served.has(metric))).toEqual([]);
  });

  it('runs the original scenario: create, subscribe twice, publish, both pull, delete', async () => {
    const [peer1, peer2, peer3] = clients;
    await peer1.createTopic('Sports');
    await peer2.subscribe('Sports');
    await peer3.subscribe('Sports');
    await peer1.publish('Sports', 'Football match tonight!');
    for (const subscriber of [peer2, peer3]) {
      const messages = await waitFor(async () => {
        const reply = await subscriber.pull('Sports');
        return reply.messages.length > 0 && reply.messages;
      });
      expect(messages.map((m) => m.message)).toEqual(['Football match tonight!']);
    }
    await peer1.deleteTopic('Sports');
    const error = await expectCode(peer1.publish('Sports', 'again'), 'TOPIC_NOT_FOUND');
    expect(error.message).toBe("Topic 'Sports' not found");
  });
});
