import { StartPosition } from '@p2p-pubsub/protocol';
import { CliCommand, CliContext, UsageError, integerOption, numberOption } from './cli-command';
import { follow } from './follow';
import { MessagePrinter, customFormat, jsonFormat, rawFormat } from './message-format';
import { helpCommand } from './run-cli';
import { collectStatus, formatStatus } from './status';
import { linesOf, publishLines, repeated } from './stdin-publisher';

function startPosition(context: CliContext): StartPosition | undefined {
  const from = context.options.from as string | undefined;
  if (from === undefined || from === 'latest' || from === 'earliest') return from;
  if (/^\d+$/.test(from)) return Number(from);
  throw new UsageError(
    `--from must be latest, earliest or an offset, got '${from}'`,
    context.command,
  );
}

/** Prints a reply as indented JSON. */
async function printed(context: CliContext, reply: Promise<unknown>): Promise<number> {
  context.stdout.write(`${JSON.stringify(await reply, null, 2)}\n`);
  return 0;
}

const PEER = 'Peer commands';
const INDEXER = 'Indexer commands';

const pub: CliCommand = {
  name: 'pub',
  aliases: ['publish'],
  args: '<topic> [message]',
  group: PEER,
  summary: 'publish a message, or each line of stdin',
  details: `With a message, prints the reply (its offset) as JSON. Without one, reads stdin
and publishes each line as one message, 256 in flight, then prints a summary on
stderr; the first failure stops it (exit 1).`,
  options: {
    count: {
      type: 'string',
      valueName: 'n',
      description: 'stop after n messages (repeat a message n times)',
    },
    rate: {
      type: 'string',
      valueName: 'per-second',
      description: 'at most this many messages a second',
    },
  },
  async run(context) {
    const topic = context.args.topic!;
    const message = context.args.message;
    const count = integerOption(context, 'count');
    const ratePerSecond = numberOption(context, 'rate');
    const peer = context.peer();
    if (message !== undefined && count === undefined && ratePerSecond === undefined) {
      return printed(context, peer.publish(topic, message));
    }
    if (message === undefined && context.stdin.isTTY) {
      context.stderr.write('pubsub: publishing each line typed; Ctrl-D ends\n');
    }
    const lines = message === undefined ? linesOf(context.stdin) : repeated(message, count ?? 1);
    const result = await publishLines(peer, topic, lines, { count, ratePerSecond }, context.signal);
    const seconds = result.elapsedMs / 1000;
    context.stderr.write(
      `published ${result.published} message(s) to '${topic}' in ${seconds.toFixed(2)} s` +
        (seconds > 0 ? ` (${Math.round(result.published / seconds)} msg/s)\n` : '\n'),
    );
    if (result.error) throw result.error;
    return 0;
  },
};

const sub: CliCommand = {
  name: 'sub',
  args: '<topic>',
  group: PEER,
  summary: 'print messages as they arrive, until Ctrl-C',
  details: `Prints each message's text on its own line (raw), or --json lines, or a kcat-style
--format: %t topic, %o offset, %s message, %S its size in bytes, %T publish time
(ms since the epoch), %% a percent sign; \\n, \\t (nothing is added: end with \\n).
Messages are pushed by the peer as they are published (the live 'consume'
stream); a peer that restarts is waited for. Without --consumer, starts at
--from (default latest) and leaves nothing on the peer; with --consumer, the
peer keeps that consumer's position (each message is acknowledged once
printed), so the next run goes on where this one stopped (--from then only
applies to a consumer's first run). A peer that does not hold the topic yet is
subscribed to it first.`,
  options: {
    json: {
      type: 'boolean',
      description: 'one JSON object per message: topic, offset, publishedAt, message',
    },
    format: {
      type: 'string',
      short: 'f',
      valueName: 'format',
      description: "kcat-style format, such as '%o: %s\\n'",
    },
    consumer: {
      type: 'string',
      valueName: 'name',
      description: 'a named consumer whose position the peer keeps',
    },
    from: {
      type: 'string',
      valueName: 'latest|earliest|offset',
      description:
        'where to start: default latest; a named consumer resumes (its first run: earliest)',
    },
    count: { type: 'string', short: 'c', valueName: 'n', description: 'exit after n messages' },
  },
  async run(context) {
    const topic = context.args.topic!;
    const count = integerOption(context, 'count');
    const from = startPosition(context);
    let print: MessagePrinter = context.options.json ? jsonFormat : rawFormat;
    if (context.options.format !== undefined) {
      try {
        print = customFormat(context.options.format as string);
      } catch (error) {
        throw new UsageError(`--format: ${(error as Error).message}`, context.command);
      }
    }
    const consumer = context.options.consumer as string | undefined;
    const peer = context.peer();
    await follow(
      peer,
      topic,
      { consumer, from, count },
      (message) => context.stdout.write(print(topic, message)),
      context.signal,
      () => context.stderr.write(`pubsub: subscribed ${peer.address} to '${topic}'\n`),
    );
    return 0;
  },
};

function peerCommand(
  name: string,
  args: string | undefined,
  summary: string,
  call: (context: CliContext) => Promise<unknown>,
  options?: CliCommand['options'],
): CliCommand {
  return {
    name,
    args,
    group: PEER,
    summary,
    options,
    run: (context) => printed(context, call(context)),
  };
}

function indexerCommand(
  name: string,
  args: string | undefined,
  summary: string,
  call: (context: CliContext) => Promise<unknown>,
): CliCommand {
  return { name, args, group: INDEXER, summary, run: (context) => printed(context, call(context)) };
}

const status: CliCommand = {
  name: 'status',
  group: 'Cluster',
  summary: 'peers and their health, topics, subscribers and consumers with their lag',
  details: `Asks the indexer for its peers and topics, then every peer at once for its
topics, its consumers and subscriber peers (list_consumers) and its
/health/ready. Prints tables, or the same as one JSON object with --json. A peer
that does not answer within --timeout-ms is shown as unreachable; its
subscribers' lag is still reported by their host.`,
  options: {
    json: { type: 'boolean', description: 'one JSON object instead of tables' },
    'timeout-ms': {
      type: 'string',
      valueName: 'ms',
      description: 'bound on each call to a peer (default 2000)',
    },
    'connect-host': {
      type: 'string',
      valueName: 'address',
      description:
        'reach every peer at this address, not the one it registered (compose: localhost)',
    },
  },
  async run(context) {
    const result = await collectStatus(context.indexer(), {
      timeoutMs: integerOption(context, 'timeout-ms') ?? 2_000,
      connectHost: context.options['connect-host'] as string | undefined,
      peerTls: context.tls('peer'),
      token: context.token,
    });
    context.stdout.write(
      context.options.json ? `${JSON.stringify(result, null, 2)}\n` : formatStatus(result),
    );
    return 0;
  },
};

/**
 * The commands of the published `pubsub` bin. Each replying command prints
 * the reply as JSON on stdout; a failure prints the error reply on stderr and
 * exits 1.
 */
export const clientCommands: CliCommand[] = [
  peerCommand('create-topic', '<topic>', 'create a topic hosted by this peer', (context) =>
    context.peer().createTopic(context.args.topic!),
  ),
  peerCommand('delete-topic', '<topic>', 'delete a topic (on its host)', (context) =>
    context.peer().deleteTopic(context.args.topic!),
  ),
  peerCommand(
    'subscribe',
    '<topic>',
    'subscribe this peer to a topic',
    (context) => context.peer().subscribe(context.args.topic!, startPosition(context)),
    {
      from: {
        type: 'string',
        valueName: 'latest|earliest|offset',
        description: 'where a new subscription starts (default latest)',
      },
    },
  ),
  peerCommand('unsubscribe', '<topic>', 'unsubscribe this peer from a topic', (context) =>
    context.peer().unsubscribe(context.args.topic!),
  ),
  pub,
  sub,
  peerCommand(
    'pull',
    '<topic>',
    "take a consumer's next messages (one reply)",
    (context) =>
      context.peer().pull(context.args.topic!, {
        consumer: context.options.consumer as string | undefined,
        max: integerOption(context, 'max'),
        fromOffset: integerOption(context, 'from-offset'),
        waitMs: integerOption(context, 'wait-ms'),
        autoAck: context.options['no-ack'] ? false : undefined,
      }),
    {
      consumer: {
        type: 'string',
        valueName: 'name',
        description: 'the consumer (default: default)',
      },
      'no-ack': {
        type: 'boolean',
        description: 'leave the consumer where it is until `ack` (pulling again repeats)',
      },
      max: {
        type: 'string',
        valueName: 'n',
        description: 'at most n messages (1-1000, default 100)',
      },
      'from-offset': {
        type: 'string',
        valueName: 'offset',
        description: 'read from here without moving the consumer',
      },
      'wait-ms': {
        type: 'string',
        valueName: 'ms',
        description: 'wait this long for a message when none is pending',
      },
    },
  ),
  peerCommand(
    'ack',
    '<topic> <next-offset>',
    "move a consumer past what it has processed (a pull reply's nextOffset)",
    (context) => {
      const nextOffset = context.args['next-offset']!;
      if (!/^\d+$/.test(nextOffset)) {
        throw new UsageError(
          `<next-offset> must be an offset, got '${nextOffset}'`,
          context.command,
        );
      }
      return context.peer().ack(context.args.topic!, Number(nextOffset), {
        consumer: context.options.consumer as string | undefined,
      });
    },
    {
      consumer: {
        type: 'string',
        valueName: 'name',
        description: 'the consumer (default: default)',
      },
    },
  ),
  peerCommand('topics', undefined, 'topics this peer hosts and subscribes to', (context) =>
    context.peer().listTopics(),
  ),
  indexerCommand('lookup', '<topic>', "a topic's host", (context) =>
    context.indexer().lookup(context.args.topic!),
  ),
  indexerCommand('index', undefined, 'every topic and its host', (context) =>
    context.indexer().listTopics(),
  ),
  indexerCommand('peers', undefined, 'every registered peer', (context) =>
    context.indexer().listPeers(),
  ),
  peerCommand(
    'consumers',
    '[topic]',
    "this peer's consumers and subscriber peers, with positions and lag",
    (context) => context.peer().listConsumers(context.args.topic),
  ),
  status,
];

/** `commands` and a `help` command over them. */
export function withHelp(commands: CliCommand[]): CliCommand[] {
  const all: CliCommand[] = [...commands];
  all.push(helpCommand(() => all));
  return all;
}
