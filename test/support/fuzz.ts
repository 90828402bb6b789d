import type { Parameters } from 'fast-check';

/**
 * How much the property-based tests (`*.fuzz.spec.ts`) try: a fixed seed
 * and a bounded count in `npm test`, so a run is quick and repeatable;
 * FUZZ_RUNS and FUZZ_SEED for a longer or different search
 * (`FUZZ_RUNS=200000 FUZZ_SEED=$RANDOM npm run test:fuzz`). A failure
 * prints the seed and the path that reproduce it.
 */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261130);

/** A failure's path, with its seed, replays just that case (FUZZ_PATH="34:1:4"). */
const FUZZ_PATH = process.env.FUZZ_PATH;

export function fuzz<T>(extra: Parameters<T> = {}): Parameters<T> {
  return {
    seed: FUZZ_SEED,
    numRuns: FUZZ_RUNS,
    ...extra,
    ...(FUZZ_PATH ? { path: FUZZ_PATH } : {}),
  };
}

/** A jest timeout for a property: generous for long runs, jest's default otherwise. */
export const FUZZ_TIMEOUT_MS = Math.max(60_000, FUZZ_RUNS * 20);
