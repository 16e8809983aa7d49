// Test runner configuration: the suite in four tiers (vitest projects), all of them run by `npm test`.
//   unit         src/**/*.test.ts and the pure, fast files of test/: no build, no PostgreSQL, no
//                Chromium, no spawned process. `npm run test:unit`, seconds, for the edit-test loop.
//   integration  the rest of test/ (the built CLI, real MCP servers, real HTTP), and the fuzz
//                properties (test/fuzz, a short run with a fixed seed; `npm run fuzz` runs them longer).
//   postgres     needs PostgreSQL (REINS_TEST_DATABASE_URL, default local trust auth).
//   browser      needs Chromium (REINS_CHROMIUM, default /usr/bin/chromium).
// A new file in test/ lands in `integration` unless it is listed below: list it under `unit` only when
// it starts no process and no browser, needs no database server and runs in well under a second.
import { configDefaults, defineConfig } from 'vitest/config';

/** Pure files of test/ that run in the unit tier beside src/**\/*.test.ts. */
const UNIT_FILES_IN_TEST = [
  'test/dataflow-pipeline.test.ts',
  'test/dry-run.test.ts',
  'test/export-jsonl.test.ts',
  'test/folder-readmes.test.ts',
  'test/identity.test.ts',
  'test/policy-diff.test.ts',
  'test/policy-status.test.ts',
  'test/policy-test-runner.test.ts',
  'test/security/decide-dry-run.test.ts',
  'test/security/identity-comparison.test.ts',
  'test/security/revocation-retention.test.ts',
  'test/session-lineage.test.ts',
  'test/support/eventually.test.ts',
];

/** Files that need the PostgreSQL server. */
const POSTGRES_FILES = [
  'test/rollback-postgres.test.ts',
  'test/dashboard-aggregates-postgres.test.ts',
  'test/session-state-postgres.test.ts',
  'test/state-store-outage.test.ts',
  'test/approvals-two-processes.test.ts',
  'test/backup-restore-postgres.test.ts',
  'test/checkpoint-key-replicas.test.ts',
  'test/conformance/identity-postgres.test.ts',
  'test/conformance/oversight-postgres.test.ts',
  'test/conformance/counter-postgres.test.ts',
  'test/conformance/postgres.test.ts',
  'test/conformance/user-store.test.ts',
  'test/identity-revocation-propagation.test.ts',
  'test/policy-diff-postgres.test.ts',
  'test/postgres-multi-writer.test.ts',
  'test/revocation-enforcement.test.ts',
  'test/replicas-postgres.test.ts',
  'test/remote-protocol-postgres.test.ts',
  'test/security/audit-rewrite.test.ts',
  'test/state-concurrency-postgres.test.ts',
  'test/state-restart-postgres.test.ts',
  'test/ops-endpoints-postgres.test.ts',
];

/** Files that drive Chromium (playwright-core). */
const BROWSER_FILES = [
  'test/console-browser.test.ts',
  'test/console-dashboard-browser.test.ts',
  'test/console-layout.test.ts',
  'test/console-monitor-browser.test.ts',
  'test/console-oidc-browser.test.ts',
  'test/console-posture-browser.test.ts',
  'test/console-provenance-browser.test.ts',
  'test/console-rollback-browser.test.ts',
  'test/readme-quickstart.test.ts',
];

export default defineConfig({
  test: {
    // inherited by every project (`extends: true`)
    testTimeout: 30_000,
    pool: 'forks',
    // two files at a time on the two cores of CI: most integration files wait on the processes they
    // spawn (gateways, MCP servers, the CLI), so a second file uses the time the first one waits
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', ...UNIT_FILES_IN_TEST],
          // Fast on two cores: threads, and modules loaded once per worker rather than once per file
          // (half the CPU time). So a unit test must leave globals and module state as it found them.
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'test/fuzz/**/*.fuzz.ts'],
          exclude: [...configDefaults.exclude, ...UNIT_FILES_IN_TEST, ...POSTGRES_FILES, ...BROWSER_FILES],
        },
      },
      { extends: true, test: { name: 'postgres', include: POSTGRES_FILES } },
      { extends: true, test: { name: 'browser', include: BROWSER_FILES } },
    ],
  },
});
