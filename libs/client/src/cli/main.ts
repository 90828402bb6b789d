import { CliCommand } from './cli-command';
import { withHelp } from './commands';
import { runCli } from './run-cli';

/**
 * Runs `commands` (and `help`) as the process's command line: exits with the
 * command's code, 0 after Ctrl-C or SIGTERM stops a long-running command.
 */
export function main(commands: CliCommand[]): void {
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => abort.abort());
  }
  // `pubsub sub T | head -1`: a reader that goes away is the end, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  runCli(withHelp(commands), {
    argv: process.argv.slice(2),
    env: process.env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: abort.signal,
  }).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`pubsub: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
