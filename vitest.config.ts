// Test runner configuration: unit tests sit beside the code, integration tests in test/, and the fuzz
// properties (test/fuzz, a short run with a fixed seed; `npm run fuzz` runs them longer).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'test/fuzz/**/*.fuzz.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
