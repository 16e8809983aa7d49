/**
 * @module test/state-restart-postgres.test
 * The restart test of test/state-restart.test.ts on PostgreSQL, the shared store: the built
 * `reins gateway` on a database of its own, stopped (SIGTERM) or killed (SIGKILL) while its agents are
 * connected, and a new process on the same database must decide the rest of the day as the first
 * would have (test/support/restart-scenario.ts). PostgreSQL must be running (REINS_TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import { killMarked } from './support/marked-processes.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import { expectedAfterRestart, RESTART_LIMITS, runRestartScenario } from './support/restart-scenario.js';
import { createStatefulDeployment } from './support/stateful-deployment.js';

const mark = `state-restart-postgres-${randomUUID()}`;
const directories: string[] = [];
const databases: TestDatabase[] = [];
let upstream: EverythingServer;
beforeAll(async () => {
  upstream = await startEverythingServer(mark);
}, 30_000);
afterAll(async () => {
  await upstream?.close();
  killMarked(mark);
  for (const database of databases) await database.drop();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

describe('session state survives a gateway restart (PostgreSQL)', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'after %s the new process allows exactly the rest of each budget and still sees every earlier call',
    async (signal) => {
      const database = await createTestDatabase('reins_restart');
      databases.push(database);
      const deployment = createStatefulDeployment({
        store: { databaseUrl: database.url },
        limits: RESTART_LIMITS,
        upstream: upstream.url,
      });
      directories.push(deployment.directory);
      const { after } = await runRestartScenario(deployment, signal, mark);
      expect(after).toEqual(expectedAfterRestart);
    },
    120_000, // about 8 s on an idle machine; a loaded one takes several times that
  );
});
