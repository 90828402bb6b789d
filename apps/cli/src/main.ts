#!/usr/bin/env node
import { CliCommand, UsageError, clientCommands, main } from '@p2p-pubsub/client/cli';
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
    });
  },
};

main([...clientCommands, cluster]);
