// Guards the compose file against drifting from what the code accepts: there
// is no Docker engine here, so each compose service's own command and
// environment is started as a local process and the original's scenario is
// run against the result.
import { PeerClient } from '@p2p-pubsub/client';
import { peerClient } from './support/clients';
import { readFileSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { ServiceProcess } from './support/processes';
import { expectCode } from './support/expect-error';
import { waitFor } from './support/wait';

interface ComposeService {
  command: string[];
  environment: Record<string, string>;
  ports: string[];
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<string, ComposeService>;
};

/**
 * What the container network gives a service, mapped onto loopback: service
 * names and 0.0.0.0 become 127.0.0.1, a service's own port becomes 0 (the OS
 * picks a free one), another service's port becomes where that one really
 * listens, and the data volume becomes a temporary directory.
 */
function localEnvironment(
  name: string,
  service: ComposeService,
  boundPorts: Map<string, number>,
  dataDir: string,
): Record<string, string> {
  const serviceNames = Object.keys(compose.services);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(service.environment)) {
    if (serviceNames.includes(value) || value === '0.0.0.0') env[key] = '127.0.0.1';
    else if (key === 'PORT') env[key] = '0';
    else if (key === 'DATA_DIR') env[key] = join(dataDir, name);
    else {
      const other = serviceNames.find(
        (s) => s !== name && compose.services[s].ports?.some((p) => p.endsWith(`:${value}`)),
      );
      env[key] = other ? String(boundPorts.get(other)) : value;
    }
  }
  return env;
}

describe('the docker-compose topology, as local processes', () => {
  const processes = new Map<string, ServiceProcess>();
  const clients: PeerClient[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'compose-'));

  beforeAll(async () => {
    const boundPorts = new Map<string, number>();
    // The indexer first: the peers' environment points at it.
    const order = Object.keys(compose.services).sort((a) => (a === 'indexer' ? -1 : 1));
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

  it('declares an indexer and three peers published on 6000 and 5555-5557', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['indexer', 'peer1', 'peer2', 'peer3']);
    expect(compose.services.indexer.ports).toEqual(['6000:6000']);
    expect(['peer1', 'peer2', 'peer3'].map((name) => compose.services[name].ports[0])).toEqual([
      '5555:5555',
      '5556:5556',
      '5557:5557',
    ]);
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
