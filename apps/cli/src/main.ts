#!/usr/bin/env node
import { CliCommand, UsageError, clientCommands, main } from '@p2p-pubsub/client/cli';
import { PrincipalRole, PrincipalRoles } from '@p2p-pubsub/protocol';
import { DEFAULT_CERTS_INIT, DevCertificateAuthority, initCerts } from './certs';
import { runCluster } from './cluster';

/**
 * The repository's `pubsub`: the published client's commands plus what only
 * makes sense beside the built services, such as `cluster` (`npm start`).
 */
const cluster: CliCommand = {
  name: 'cluster',
  group: 'Local cluster',
  summary: 'an indexer and three peers in this terminal, until Ctrl-C',
  options: {
    host: { type: 'string', valueName: 'address', description: 'bind address (default 127.0.0.1)' },
    'indexer-port': { type: 'string', valueName: 'port', description: 'default 6000' },
    'peer-ports': { type: 'string', valueName: 'port,...', description: 'default 5555,5556,5557' },
    'tls-dir': {
      type: 'string',
      valueName: 'dir',
      description: "security on, with the files 'pubsub certs init <dir>' wrote",
    },
  },
  run(context) {
    const port = (name: string, value: string) => {
      if (!/^\d+$/.test(value)) throw new UsageError(`--${name}: not a port: '${value}'`, cluster);
      return Number(value);
    };
    return runCluster({
      host: (context.options.host as string | undefined) ?? '127.0.0.1',
      indexerPort: port(
        'indexer-port',
        (context.options['indexer-port'] as string | undefined) ?? '6000',
      ),
      peerPorts: ((context.options['peer-ports'] as string | undefined) ?? '5555,5556,5557')
        .split(',')
        .map((value) => port('peer-ports', value)),
      tlsDir: context.options['tls-dir'] as string | undefined,
    });
  },
};

const list = (value: unknown) => (typeof value === 'string' ? value.split(',') : undefined);

const certs: CliCommand = {
  name: 'certs',
  args: '<action> <dir> [role] [name]',
  group: 'Certificates',
  summary: "init: a development CA and the cluster's certificates; issue: one more",
  details: `pubsub certs init <dir>: a development CA in <dir> (kept if there is one, so
running it again renews the other certificates under the same CA), and
certificates with keys for the indexer (indexer.crt), each npm start peer
(peer-<port>.crt, 127.0.0.1:<port>), each compose peer (peer1.crt, ...),
client/dev (client.crt) and client/admin (admin.crt), plus permissions.json
granting client/dev every topic and client/admin the admin role (kept if there
is one). pubsub certs issue <dir> <role> <name>: one more certificate from the
CA in <dir>, named pubsub://<role>/<name> (roles: ${PrincipalRoles.join(', ')}; a
peer's name is its host:port). Needs the openssl command.`,
  options: {
    days: { type: 'string', valueName: 'n', description: 'validity in days (default 365)' },
    'peer-ports': {
      type: 'string',
      valueName: 'port,...',
      description: 'init: the npm start peers (default 5555,5556,5557)',
    },
    'compose-peers': {
      type: 'string',
      valueName: 'service:port,...',
      description: 'init: the compose peers (default peer1:5555,peer2:5556,peer3:5557)',
    },
    dns: { type: 'string', valueName: 'name,...', description: 'issue: host names' },
    ip: { type: 'string', valueName: 'address,...', description: 'issue: IP addresses' },
  },
  async run(context) {
    const { action, dir, role, name } = context.args;
    const days = context.options.days === undefined ? undefined : Number(context.options.days);
    if (days !== undefined && !(Number.isInteger(days) && days > 0)) {
      throw new UsageError(`--days must be a positive integer`, certs);
    }
    let written: string[];
    if (action === 'init' && role === undefined) {
      written = initCerts(dir!, {
        peerPorts: list(context.options['peer-ports'])?.map(Number) ?? DEFAULT_CERTS_INIT.peerPorts,
        composePeers: list(context.options['compose-peers']) ?? DEFAULT_CERTS_INIT.composePeers,
        days: days ?? DEFAULT_CERTS_INIT.days,
      });
    } else if (action === 'issue' && role !== undefined && name !== undefined) {
      if (!(PrincipalRoles as readonly string[]).includes(role)) {
        throw new UsageError(
          `the role is one of ${PrincipalRoles.join(', ')}, not '${role}'`,
          certs,
        );
      }
      const { ca } = DevCertificateAuthority.openOrCreate(dir!);
      const { cert, key } = ca.issue({
        file: `${role}-${name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
        role: role as PrincipalRole,
        name,
        dnsNames: list(context.options.dns),
        ipAddresses: list(context.options.ip),
        days,
      });
      written = [cert, key];
    } else {
      throw new UsageError(`expected 'init <dir>' or 'issue <dir> <role> <name>'`, certs);
    }
    context.stdout.write(written.map((file) => `wrote ${file}\n`).join(''));
    return 0;
  },
};

main([...clientCommands, cluster, certs]);
