/**
 * @module test/security/backup-attack-postgres-dump.test
 * Fixed: `reins backup` signs its manifest (data sha256, size, tail, store, time) with the checkpoint key;
 *   `reins restore` checks that signature and the dump's sha256 before pg_restore runs: the recomputed
 *   sha256 fails at the signature and pg_restore never sees the dump.
 * Attack (backup storage write access, no key, no database access): a PostgreSQL backup is a
 * `pg_dump -Fc` archive with an unauthenticated sha256 beside it. The intruder restores a genuine
 * backup into a scratch database, adds a function and a table whose CHECK constraint calls it, dumps
 * that, and puts it in the backup with a recomputed sha256. `reins restore` runs `pg_restore` on it
 * *before* any check, with the deployment's database role (here, as often, a superuser): loading the
 * table's row evaluates the constraint, the function runs arbitrary SQL: it creates a new superuser role
 * with a password the intruder knows. The log in the dump is genuine, so the restore then verifies,
 * signs a restore record with the checkpoint key and reports success.
 * Expected safe behaviour: `reins restore` never hands pg_restore a dump it cannot authenticate as one
 * `reins backup` wrote for this deployment (or restores only the data of Reins' own tables, never
 * executable objects from the archive); no role is created.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, expect, it } from 'vitest';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { appendCheckpoints } from '../../src/export/checkpoint-file.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../support/postgres-database.js';
import { cli, EVERY, type SmallDeployment, smallDeployment } from './backup-attack-support.js';

const ROLE = `reins_pwned_${process.pid}`;
let d: SmallDeployment | undefined;
const databases: TestDatabase[] = [];

async function sql(url: string, text: string): Promise<{ rows: Record<string, unknown>[] }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  for (const database of databases) await database.drop().catch(() => {});
  await sql(ADMIN_URL, `drop role if exists ${ROLE}`).catch(() => {});
  if (d) rmSync(d.directory, { recursive: true, force: true });
});

it('a tampered dump runs no SQL of the intruder on restore', async () => {
  d = smallDeployment();
  const production = await createTestDatabase('reins_attack_prod');
  const scratch = await createTestDatabase('reins_attack_scratch');
  databases.push(production, scratch);
  const deployment = d;
  const file = join(deployment.published, 'checkpoints.jsonl');
  const log = await PostgresAuditLog.open({
    connectionString: production.url,
    signer: new CheckpointSigner(deployment.privateKey),
    checkpointEvery: EVERY,
    onCheckpoint: (checkpoint) => appendCheckpoints(file, [checkpoint]),
  });
  const append = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const index = deployment.next++;
      await log.append({
        ...intentEvent(index),
        time: new Date().toISOString(),
        id: `r${index}`,
        decisionId: `r${index}`,
      });
    }
  };
  await append(10);
  await log.checkpoint();
  const backup = join(deployment.directory, 'backup');
  const taken = cli(deployment, 'backup', '--database-url', production.url, '--out', backup);
  expect(taken.code, taken.stderr).toBe(0);
  await append(9);
  await log.close();

  // the intruder: the genuine dump, plus a function that a CHECK constraint runs while rows load
  const dump = join(backup, 'store.dump');
  execFileSync('pg_restore', ['--no-owner', `--dbname=${scratch.url}`, dump]);
  await sql(
    scratch.url,
    `create function public.reins_check(v text) returns boolean language plpgsql as $$
       begin
         execute 'create role ${ROLE} superuser login password ''known-to-the-intruder''';
         return true;
       end $$;
     create table public.reins_settings (v text check (public.reins_check(v)));
     insert into public.reins_settings values ('x');`,
  );
  // the insert itself ran the function once, in the scratch database: drop that role again
  await sql(ADMIN_URL, `drop role if exists ${ROLE}`);
  execFileSync('pg_dump', [
    '--format=custom',
    '--no-owner',
    '--no-privileges',
    `--file=${dump}.new`,
    `--dbname=${scratch.url}`,
  ]);
  execFileSync('mv', [`${dump}.new`, dump]);
  const manifestPath = join(backup, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bytes = readFileSync(dump);
  manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.bytes = bytes.length;
  writeFileSync(manifestPath, JSON.stringify(manifest));
  expect((await sql(ADMIN_URL, `select 1 from pg_roles where rolname = '${ROLE}'`)).rows).toEqual([]);

  const run = cli(
    deployment,
    'restore',
    backup,
    '--database-url',
    production.url,
    '--reason',
    'disk failure',
    '--checkpoints',
    deployment.published,
    '--public-key',
    deployment.publicKeyFile,
    '--signing-key',
    deployment.keyFile,
    '--no-publish',
  );
  const roles = (await sql(ADMIN_URL, `select rolname, rolsuper from pg_roles where rolname = '${ROLE}'`))
    .rows;
  // today: exit 0 ("restored ... recorded as record 11") and a new superuser the intruder can log in as
  expect(roles, `restore exit ${run.code}: ${run.stdout}${run.stderr}`).toEqual([]);
}, 120_000);
