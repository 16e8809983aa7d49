/**
 * @module test/state-concurrency-postgres.test
 * The concurrency test of test/state-concurrency.test.ts on PostgreSQL: three built `reins gateway`
 * processes on one database, three concurrent callers each, one budget. It is never exceeded, and every
 * unit reserved by a payment that then did not run comes back (test/support/concurrency-scenario.ts).
 * PostgreSQL must be running (REINS_TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { budgetKept, CONCURRENCY_LIMITS, runConcurrencyScenario } from './support/concurrency-scenario.js';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import { killMarked } from './support/marked-processes.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import { createStatefulDeployment, type StatefulDeployment } from './support/stateful-deployment.js';

const mark = `state-concurrency-postgres-${randomUUID()}`;
let upstream: EverythingServer;
let database: TestDatabase | undefined;
let deployment: StatefulDeployment | undefined;
beforeAll(async () => {
  upstream = await startEverythingServer(mark);
}, 30_000);
afterAll(async () => {
  await upstream?.close();
  killMarked(mark);
  await database?.drop();
  if (deployment) rmSync(deployment.directory, { recursive: true, force: true });
});

describe('one budget, three processes on one PostgreSQL database, concurrent callers', () => {
  it('is never exceeded, and every unit a call reserved but did not use comes back', async () => {
    database = await createTestDatabase('reins_concurrency');
    deployment = createStatefulDeployment({
      store: { databaseUrl: database.url },
      limits: CONCURRENCY_LIMITS,
      upstream: upstream.url,
    });
    const { observed, expected } = budgetKept(await runConcurrencyScenario(deployment, mark));
    expect(observed).toEqual(expected);
  }, 120_000); // about 15 s on an idle machine; a loaded one takes several times that
});
