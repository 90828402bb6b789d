import { resolve } from 'path';
import { parseArgs } from 'util';
import { Bounds } from './drive';

export const USAGE = `Usage: npm run bench -- [options]

  --quick          a few seconds, far fewer messages (what CI runs)
  --json FILE      also write the results as JSON
  --readme         rewrite the generated part of README.md's Benchmark section
  --readme-file F  the same, in another file
  --profile DIR    start every service with node --cpu-prof, profiles written to DIR
  --only LIST      comma-separated workload families (the echo reference always runs):
                   indexer, publish, pull, fanout, metrics, nats, nest, cli, topics, tls, memory
  --help           this text
`;

export const FAMILIES = [
  'indexer',
  'publish',
  'pull',
  'fanout',
  'metrics',
  'nats',
  'nest',
  'cli',
  'topics',
  'tls',
  'memory',
] as const;
export type Family = (typeof FAMILIES)[number];

/** How much work each workload family does; the quick sizes are for CI. */
export interface Sizes {
  /** One request at a time. */
  serial: Bounds;
  /** 16 or 128 in flight, 100-byte payloads. */
  concurrent: Bounds;
  /** 16 or 128 in flight, 10 KiB payloads. */
  concurrentLarge: Bounds;
  /** create_topic and subscribe: each leaves a topic with files behind. */
  topics: Bounds;
  /** Messages in the pull topic; each measured pull takes 100 of them. */
  pullPrefill: number;
  pull: Bounds;
  /** Messages per fan-out run, and the run's time bound. */
  fanOut: { messages: number; maxMs: number; warmup: number };
  /** Messages sent through one topic before memory is read. */
  memoryMessages: number;
  memoryMaxMs: number;
}

const FULL: Sizes = {
  serial: { count: 5_000, maxMs: 4_000, warmup: 500 },
  concurrent: { count: 40_000, maxMs: 4_000, warmup: 2_000 },
  concurrentLarge: { count: 10_000, maxMs: 4_000, warmup: 500 },
  topics: { count: 500, maxMs: 5_000, warmup: 10 },
  pullPrefill: 20_000,
  pull: { count: 1_000, maxMs: 4_000, warmup: 20 },
  fanOut: { messages: 60_000, maxMs: 10_000, warmup: 2_000 },
  memoryMessages: 1_000_000,
  memoryMaxMs: 300_000,
};

const QUICK: Sizes = {
  serial: { count: 100, maxMs: 300, warmup: 10 },
  concurrent: { count: 300, maxMs: 300, warmup: 20 },
  concurrentLarge: { count: 150, maxMs: 300, warmup: 10 },
  topics: { count: 10, maxMs: 1_000, warmup: 2 },
  pullPrefill: 600,
  pull: { count: 4, maxMs: 300, warmup: 1 },
  fanOut: { messages: 300, maxMs: 1_000, warmup: 30 },
  memoryMessages: 2_000,
  memoryMaxMs: 10_000,
};

export interface BenchOptions {
  quick: boolean;
  sizes: Sizes;
  jsonFile?: string;
  readmeFile?: string;
  profileDir?: string;
  families: ReadonlySet<Family>;
}

export class UsageError extends Error {}

export function parseBenchOptions(argv: string[], repositoryRoot: string): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        readme: { type: 'boolean', default: false },
        'readme-file': { type: 'string' },
        profile: { type: 'string' },
        only: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const families = new Set<Family>(FAMILIES);
  if (parsed.only !== undefined) {
    families.clear();
    for (const name of parsed.only.split(',').filter(Boolean)) {
      if (!(FAMILIES as readonly string[]).includes(name))
        throw new UsageError(`unknown workload family '${name}'`);
      families.add(name as Family);
    }
  }
  const readmeFile = parsed['readme-file'] ?? (parsed.readme ? 'README.md' : undefined);
  return {
    quick: parsed.quick,
    sizes: parsed.quick ? QUICK : FULL,
    jsonFile: parsed.json === undefined ? undefined : resolve(parsed.json),
    readmeFile: readmeFile === undefined ? undefined : resolve(repositoryRoot, readmeFile),
    profileDir: parsed.profile === undefined ? undefined : resolve(parsed.profile),
    families,
  };
}
