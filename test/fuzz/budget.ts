/**
 * @module test/fuzz/budget
 * How long each fuzz property runs, and the one way every property is run and reported.
 *
 * - `npm test` runs each property briefly with a fixed seed (reproducible; the seed is printed).
 * - `npm run fuzz` (vitest.fuzz.config.ts) sets REINS_FUZZ_RUNS, REINS_FUZZ_SECONDS and
 *   REINS_FUZZ_SEED=random for a long run. Any of them can be set by hand, e.g. to replay a failure:
 *   REINS_FUZZ_SEED=<seed printed> npx vitest run test/fuzz/credentials.fuzz.ts
 *
 * Every property prints `[fuzz] <name>: <inputs> inputs in <s> s (seed <seed>)`; on failure fast-check
 * prints the shrunk counterexample and the seed and path that replay it.
 */
import fc from 'fast-check';

/** The seed of the `npm test` tier: fixed so that a failure there is the same on every machine. */
export const DEFAULT_SEED = 20_261_206;

export interface Budget {
  readonly runs: number;
  readonly seconds: number;
  readonly seed: number;
}

/** `defaultRuns` is the `npm test` size of this property (expensive properties take fewer). */
export function budget(defaultRuns: number): Budget {
  const runs = positive('REINS_FUZZ_RUNS') ?? defaultRuns;
  const seconds = positive('REINS_FUZZ_SECONDS') ?? 5;
  const seedSetting = process.env.REINS_FUZZ_SEED;
  const seed =
    seedSetting === undefined || seedSetting === ''
      ? DEFAULT_SEED
      : seedSetting === 'random'
        ? Math.floor(Math.random() * 2 ** 31)
        : Number(seedSetting);
  if (!Number.isInteger(seed))
    throw new Error(`REINS_FUZZ_SEED must be an integer or "random", got ${seedSetting}`);
  return { runs, seconds, seed };
}

/** Longest a property may run, for the test timeout: its time budget plus shrinking and setup. */
export function timeoutFor(seconds = budget(1).seconds): number {
  return (seconds + 60) * 1000;
}

function positive(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!(number > 0)) throw new Error(`${name} must be a positive number, got ${value}`);
  return number;
}

/**
 * Checks `predicate` on inputs from `arbitrary` until the run count or the time budget is used up,
 * prints how many inputs were tried, and fails with fast-check's counterexample if one fails.
 */
export async function fuzz<T>(
  name: string,
  defaultRuns: number,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void> | void,
): Promise<number> {
  const { runs, seconds, seed } = budget(defaultRuns);
  let tried = 0;
  const property = fc.asyncProperty(arbitrary, async (value) => {
    tried++;
    await predicate(value);
  });
  const started = performance.now();
  try {
    await fc.assert(property, {
      numRuns: runs,
      seed,
      interruptAfterTimeLimit: seconds * 1000,
      markInterruptAsFailure: false,
    });
  } finally {
    const elapsed = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`[fuzz] ${name}: ${tried} inputs in ${elapsed} s (seed ${seed})`);
  }
  return tried;
}
