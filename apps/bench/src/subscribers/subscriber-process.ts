import type { INestMicroservice } from '@nestjs/common';
import { LIFELINE_ENV, watchLifeline } from '@p2p-pubsub/launcher';
import { report } from './receipt-reporter';

/**
 * Runs one subscriber process of the bench: the Nest microservice `create`
 * makes, stopped by SIGTERM or SIGINT, or when its lifeline (the launcher's
 * stdin) closes. The bench is told it is ready once it listens and `ready`
 * has resolved (what makes sure nothing published from then on can miss
 * it); a failure exits 1 with its stack.
 */
export function runSubscriber(
  create: () => Promise<INestMicroservice>,
  ready: (app: INestMicroservice) => Promise<unknown> = async () => undefined,
): void {
  const start = async () => {
    watchLifeline(process.env[LIFELINE_ENV], () => process.kill(process.pid, 'SIGTERM'));
    const app = await create();
    app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
    await app.listen();
    await ready(app);
    report({ type: 'ready' });
  };
  start().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
