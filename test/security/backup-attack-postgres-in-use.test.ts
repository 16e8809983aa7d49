/**
 * @module test/security/backup-attack-postgres-in-use.test
 * Fixed: the in-use check counts every other client session connected to the database, whatever its
 *   application_name (and says which), so a renamed gateway is seen.
 * Attack / failure (a running gateway, restore race): `reins restore` on PostgreSQL refuses while the
 * store is in use by counting connections whose `application_name` is exactly `reins`. node-postgres
 * lets the connection string override the pool's `application_name`, so a deployment whose URL names
 * its own (`?application_name=reins-eu-1`, common for monitoring) has gateways the check never sees:
 * the restore runs under a live gateway, `pg_restore --clean` swaps the tables under it, and the gateway
 * goes on appending to the restored log from the seq it holds in memory, past (and over) the restore
 * record.
 * Expected safe behaviour: a restore refuses while any other session of the deployment's store is
 * connected (e.g. an advisory lock every gateway holds, or counting by the role/database rather than a
 * name the URL can change): exit 2, "stop every gateway", and nothing restored.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { appendCheckpoints } from '../../src/export/checkpoint-file.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres-database.js';
import { cli, EVERY, type SmallDeployment, smallDeployment } from './backup-attack-support.js';

let d: SmallDeployment | undefined;
let database: TestDatabase | undefined;
let running: PostgresAuditLog | undefined;
afterAll(async () => {
  await running?.close().catch(() => {});
  await database?.drop();
  if (d) rmSync(d.directory, { recursive: true, force: true });
});

it('a restore is refused while a gateway with its own application_name is connected', async () => {
  d = smallDeployment();
  database = await createTestDatabase('reins_attack_inuse');
  const url = new URL(database.url);
  url.searchParams.set('application_name', 'reins-eu-1');
  const deployment = d;
  const file = join(deployment.published, 'checkpoints.jsonl');
  // the gateway's log, open for the whole test (as a running gateway holds it)
  running = await PostgresAuditLog.open({
    connectionString: url.toString(),
    signer: new CheckpointSigner(deployment.privateKey),
    checkpointEvery: EVERY,
    onCheckpoint: (checkpoint) => appendCheckpoints(file, [checkpoint]),
  });
  const append = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const index = deployment.next++;
      await running?.append({
        ...intentEvent(index),
        time: new Date().toISOString(),
        id: `r${index}`,
        decisionId: `r${index}`,
      });
    }
  };
  await append(6);
  const backup = join(deployment.directory, 'backup');
  const taken = cli(deployment, 'backup', '--database-url', url.toString(), '--out', backup);
  expect(taken.code, taken.stderr).toBe(0);
  await append(6);
  const run = cli(
    deployment,
    'restore',
    backup,
    '--database-url',
    url.toString(),
    '--reason',
    'while the gateway runs',
    '--checkpoints',
    deployment.published,
    '--public-key',
    deployment.publicKeyFile,
    '--signing-key',
    deployment.keyFile,
    '--no-publish',
  );
  // today: exit 0, "restored ... recorded as record 7" under the running gateway
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr).toContain('stop every gateway');
}, 120_000);
