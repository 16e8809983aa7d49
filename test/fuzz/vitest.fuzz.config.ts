// The long fuzz run (`npm run fuzz`): only the fuzz properties, each for REINS_FUZZ_SECONDS (default
// 30) with a random seed, one file at a time so that each property gets the machine it is timed on.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const seconds = process.env.REINS_FUZZ_SECONDS || '30';

export default defineConfig({
  root: resolve(import.meta.dirname, '../..'),
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    env: {
      REINS_FUZZ_SECONDS: seconds,
      REINS_FUZZ_RUNS: process.env.REINS_FUZZ_RUNS || '1000000000',
      REINS_FUZZ_SEED: process.env.REINS_FUZZ_SEED || 'random',
    },
    testTimeout: (Number(seconds) + 120) * 1000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
