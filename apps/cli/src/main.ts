#!/usr/bin/env node
import { IndexerClient, PeerClient, PubSubError } from '@p2p-pubsub/client';
import { parseArgs } from 'util';
import { runCluster } from './cluster';

const USAGE = `Usage: pubsub <command> [arguments] [--peer host:port] [--indexer host:port]

Peer commands (default --peer localhost:5555):
  create-topic <topic>
  delete-topic <topic>
  subscribe <topic> [--from latest|earliest|<offset>]
  unsubscribe <topic>
  publish <topic> <message>
  pull <topic> [--consumer <name>] [--max <n>] [--from-offset <n>] [--wait-ms <ms>]
  topics                       topics this peer hosts and subscribes to

Indexer commands (default --indexer localhost:6000):
  lookup <topic>
  index                        every topic and its host
  peers                        every registered peer

Local cluster:
  cluster [--host 127.0.0.1] [--indexer-port 6000] [--peer-ports 5555,5556,5557]
`;

function address(value: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(value);
  if (!match) throw new Error(`expected host:port, got '${value}'`);
  return { host: match[1], port: Number(match[2]) };
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(value);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      peer: { type: 'string', default: 'localhost:5555' },
      indexer: { type: 'string', default: 'localhost:6000' },
      from: { type: 'string' },
      consumer: { type: 'string' },
      max: { type: 'string' },
      'from-offset': { type: 'string' },
      'wait-ms': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'indexer-port': { type: 'string', default: '6000' },
      'peer-ports': { type: 'string', default: '5555,5556,5557' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...args] = positionals;
  if (!command || values.help) {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'cluster') {
    return runCluster({
      host: values.host,
      indexerPort: integer('indexer-port', values['indexer-port'])!,
      peerPorts: values['peer-ports'].split(',').map((port) => integer('peer-ports', port)!),
    });
  }

  const need = (count: number) => {
    if (args.length !== count)
      throw new Error(`'${command}' takes ${count} argument(s)\n\n${USAGE}`);
    return args;
  };
  const onPeer = (call: (peer: PeerClient) => Promise<unknown>) => () =>
    printReply(new PeerClient(address(values.peer)), call);
  const onIndexer = (call: (indexer: IndexerClient) => Promise<unknown>) => () =>
    printReply(new IndexerClient(address(values.indexer)), call);
  const from = values.from;

  const commands: Record<string, () => Promise<number>> = {
    'create-topic': onPeer((peer) => peer.createTopic(need(1)[0])),
    'delete-topic': onPeer((peer) => peer.deleteTopic(need(1)[0])),
    subscribe: onPeer((peer) =>
      peer.subscribe(
        need(1)[0],
        from === undefined || from === 'latest' || from === 'earliest'
          ? from
          : integer('from', from),
      ),
    ),
    unsubscribe: onPeer((peer) => peer.unsubscribe(need(1)[0])),
    publish: onPeer((peer) => peer.publish(...(need(2) as [string, string]))),
    pull: onPeer((peer) =>
      peer.pull(need(1)[0], {
        consumer: values.consumer,
        max: integer('max', values.max),
        fromOffset: integer('from-offset', values['from-offset']),
        waitMs: integer('wait-ms', values['wait-ms']),
      }),
    ),
    topics: onPeer((peer) => (need(0), peer.listTopics())),
    lookup: onIndexer((indexer) => indexer.lookup(need(1)[0])),
    index: onIndexer((indexer) => (need(0), indexer.listTopics())),
    peers: onIndexer((indexer) => (need(0), indexer.listPeers())),
  };
  const run = commands[command];
  if (!run) throw new Error(`unknown command '${command}'\n\n${USAGE}`);
  return run();
}

/** Prints the reply as JSON (errors on stderr, exit 1) and closes the client. */
async function printReply<C extends PeerClient | IndexerClient>(
  client: C,
  call: (client: C) => Promise<unknown>,
): Promise<number> {
  try {
    process.stdout.write(`${JSON.stringify(await call(client), null, 2)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof PubSubError)) throw error;
    process.stderr.write(`${JSON.stringify(error.toReply(), null, 2)}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  },
);
