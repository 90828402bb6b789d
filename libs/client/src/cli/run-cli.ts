import { parseArgs } from 'util';
import { PubSubError } from '@p2p-pubsub/protocol';
import { parseAddress } from '../address';
import { IndexerClient } from '../indexer-client';
import { PeerClient } from '../peer-client';
import { tlsFromFiles } from '../tls';
import { CliCommand, CliContext, CliOption, UsageError } from './cli-command';

const GLOBAL_OPTIONS: Record<string, CliOption> = {
  peer: {
    type: 'string',
    valueName: 'host:port',
    description: 'the peer (default $PUBSUB_PEER, else localhost:5555)',
  },
  indexer: {
    type: 'string',
    valueName: 'host:port',
    description: 'the indexer (default $PUBSUB_INDEXER, else localhost:6000)',
  },
  ca: {
    type: 'string',
    valueName: 'file',
    description: 'with security on: the cluster CA; connect with TLS (default $PUBSUB_TLS_CA)',
  },
  cert: {
    type: 'string',
    valueName: 'file',
    description: 'your certificate (default $PUBSUB_TLS_CERT)',
  },
  key: { type: 'string', valueName: 'file', description: 'its key (default $PUBSUB_TLS_KEY)' },
  token: {
    type: 'string',
    valueName: 'token',
    description: 'with --ca and no certificate: your token (default $PUBSUB_TOKEN)',
  },
  help: { type: 'boolean', short: 'h', description: 'help for the command' },
};

export interface CliIo {
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdin: CliContext['stdin'];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  signal: AbortSignal;
}

/**
 * Runs one `pubsub` command line against `commands` and resolves with the
 * exit code: 0 done, 1 the call failed (the error reply is printed on
 * stderr), 2 a usage mistake (what is wrong, then the command's usage).
 */
export async function runCli(commands: CliCommand[], io: CliIo): Promise<number> {
  const table = new CommandTable(commands);
  try {
    const { command, rest } = table.split(io.argv);
    if (!command) {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(table.usage());
        return 0;
      }
      throw new UsageError('missing command');
    }
    return await runCommand(table, command, rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(
        `pubsub: ${error.message}\n\n${error.command ? table.commandUsage(error.command) : table.usage()}`,
      );
      return 2;
    }
    if (error instanceof PubSubError) {
      io.stderr.write(`${JSON.stringify(error.toReply(), null, 2)}\n`);
      return 1;
    }
    throw error;
  }
}

async function runCommand(
  table: CommandTable,
  command: CliCommand,
  argv: string[],
  io: CliIo,
): Promise<number> {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(options).map(([name, { type, short }]) => [
          name,
          short ? { type, short } : { type },
        ]),
      ),
    });
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
  if (parsed.values.help) {
    io.stdout.write(table.commandUsage(command));
    return 0;
  }
  const args = bindArguments(command, parsed.positionals);

  const opened: Array<{ close(): Promise<void> }> = [];
  const address = (name: 'peer' | 'indexer', variable: string, fallback: string) => {
    const value = (parsed.values[name] as string | undefined) ?? io.env[variable] ?? fallback;
    try {
      return parseAddress(value);
    } catch (error) {
      const source = parsed.values[name] !== undefined ? `--${name}` : `$${variable}`;
      throw new UsageError(`${source}: ${(error as Error).message}`, command);
    }
  };
  const setting = (name: 'ca' | 'cert' | 'key' | 'token', variable: string) =>
    (parsed.values[name] as string | undefined) ?? (io.env[variable] || undefined);
  const tls: CliContext['tls'] = (role) => {
    const files = {
      ca: setting('ca', 'PUBSUB_TLS_CA'),
      cert: setting('cert', 'PUBSUB_TLS_CERT'),
      key: setting('key', 'PUBSUB_TLS_KEY'),
    };
    if (files.ca === undefined) {
      if (files.cert !== undefined || files.key !== undefined) {
        throw new UsageError('--cert and --key need --ca (the cluster CA) too', command);
      }
      return undefined;
    }
    try {
      return tlsFromFiles({ ...files, ca: files.ca }, role);
    } catch (error) {
      throw new UsageError(`TLS files: ${(error as Error).message}`, command);
    }
  };
  const context: CliContext = {
    command,
    args,
    options: parsed.values as CliContext['options'],
    tls,
    token: setting('token', 'PUBSUB_TOKEN'),
    peer: (clientOptions = {}) => {
      const client = new PeerClient({
        ...address('peer', 'PUBSUB_PEER', 'localhost:5555'),
        tls: tls('peer'),
        token: setting('token', 'PUBSUB_TOKEN'),
        ...clientOptions,
      });
      opened.push(client);
      return client;
    },
    indexer: () => {
      const client = new IndexerClient({
        ...address('indexer', 'PUBSUB_INDEXER', 'localhost:6000'),
        tls: tls('indexer'),
        token: setting('token', 'PUBSUB_TOKEN'),
      });
      opened.push(client);
      return client;
    },
    stdin: io.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal,
  };
  try {
    return await command.run(context);
  } finally {
    await Promise.all(opened.map((client) => client.close()));
  }
}

interface ArgumentSpec {
  name: string;
  required: boolean;
}

function argumentSpecs(command: CliCommand): ArgumentSpec[] {
  return [...(command.args ?? '').matchAll(/<([^>]+)>|\[([^\]]+)\]/g)].map((match) => ({
    name: match[1] ?? match[2],
    required: match[1] !== undefined,
  }));
}

function bindArguments(command: CliCommand, positionals: string[]): CliContext['args'] {
  const specs = argumentSpecs(command);
  const missing = specs.find((spec, index) => spec.required && positionals[index] === undefined);
  if (missing) throw new UsageError(`${command.name}: missing argument <${missing.name}>`, command);
  if (positionals.length > specs.length) {
    const extra = positionals[specs.length];
    throw new UsageError(
      `${command.name}: unexpected argument '${extra}'` +
        (specs.length > 0 ? ' (quote a message that has spaces)' : ''),
      command,
    );
  }
  return Object.fromEntries(specs.map((spec, index) => [spec.name, positionals[index]]));
}

class CommandTable {
  private readonly byName = new Map<string, CliCommand>();

  constructor(private readonly commands: CliCommand[]) {
    for (const command of commands) {
      for (const name of [command.name, ...(command.aliases ?? [])]) this.byName.set(name, command);
    }
  }

  get(name: string): CliCommand | undefined {
    return this.byName.get(name);
  }

  /**
   * Finds the command: the first argument that is neither an option nor an
   * option's value (global options may come first), or the first after `--`.
   * Returns the arguments without it.
   */
  split(argv: string[]): { command?: CliCommand; rest: string[] } {
    for (let index = 0; index < argv.length; index++) {
      const token = argv[index];
      if (token === '--') {
        index++;
        if (index >= argv.length) break;
      } else if (token.startsWith('-')) {
        const name = token.replace(/^--?/, '').split('=')[0];
        const option = GLOBAL_OPTIONS[name];
        if (option?.type === 'string' && !token.includes('=')) index++;
        continue;
      }
      const name = argv[index];
      const command = this.byName.get(name);
      if (!command) throw new UsageError(`unknown command '${name}'`);
      // `pubsub -- pub T -5`: a `--` before the command still ends the options.
      return { command, rest: [...argv.slice(0, index), ...argv.slice(index + 1)] };
    }
    return { rest: argv };
  }

  usage(): string {
    const groups = new Map<string, CliCommand[]>();
    for (const command of this.commands) {
      groups.set(command.group, [...(groups.get(command.group) ?? []), command]);
    }
    const lines = ['Usage: pubsub <command> [arguments] [options]', ''];
    for (const [group, commands] of groups) {
      lines.push(`${group}:`);
      for (const command of commands) {
        const synopsis = [command.name, command.args].filter(Boolean).join(' ');
        lines.push(`  ${synopsis.padEnd(34)} ${command.summary}`);
      }
      lines.push('');
    }
    lines.push('Options:', ...optionLines(GLOBAL_OPTIONS), '');
    lines.push(
      "'pubsub help <command>' tells more. A message that starts with '-' goes after '--':",
      "  pubsub pub Weather -- '-5 degrees'",
      '',
    );
    return lines.join('\n');
  }

  commandUsage(command: CliCommand): string {
    const lines = [
      `Usage: pubsub ${[command.name, command.args].filter(Boolean).join(' ')} [options]`,
      '',
      `${command.summary}${command.aliases ? ` (also: ${command.aliases.join(', ')})` : ''}`,
    ];
    if (command.details) lines.push('', command.details.trimEnd());
    const own = command.options ?? {};
    if (Object.keys(own).length > 0) lines.push('', 'Options:', ...optionLines(own));
    lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS), '');
    return lines.join('\n');
  }
}

function optionLines(options: Record<string, CliOption>): string[] {
  return Object.entries(options).map(([name, option]) => {
    const flag = [
      option.short ? `-${option.short}, ` : '    ',
      `--${name}`,
      option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : '',
    ].join('');
    return `  ${flag.padEnd(34)} ${option.description}`;
  });
}

/** The `help [command]` command, over whatever table it is part of. */
export function helpCommand(commands: () => CliCommand[]): CliCommand {
  return {
    name: 'help',
    args: '[command]',
    group: 'Help',
    summary: 'this list, or one command in detail',
    async run(context) {
      const table = new CommandTable(commands());
      const name = context.args.command;
      if (name === undefined) {
        context.stdout.write(table.usage());
        return 0;
      }
      const command = table.get(name);
      if (!command) throw new UsageError(`unknown command '${name}'`);
      context.stdout.write(table.commandUsage(command));
      return 0;
    },
  };
}
