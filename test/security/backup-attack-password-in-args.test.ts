/**
 * @module test/security/backup-attack-password-in-args.test
 * Fixed: the password (userinfo or `password` query parameter) and `sslpassword` are taken out of the
 *   URL given to pg_dump / pg_restore and passed as PGPASSWORD / PGSSLPASSWORD; every printed URL is
 *   redacted (userinfo and secret query parameters). Mechanics: `reins backup` now needs the checkpoint
 *   key (it signs the manifest) and refuses before pg_dump without one, so the test gives it a key.
 * Attack (a local user on the host, reading other processes' command lines via `ps` / /proc): decision
 * 0024 promises "the password goes to pg_dump in PGPASSWORD, never on its command line". Only the
 * URL's userinfo password is moved: a connection string that carries the password as a query parameter
 * (`postgres://reins@db/reins?password=...`, accepted by node-postgres and by libpq alike) is passed to
 * `pg_dump` / `pg_restore` as `--dbname=<url>` with the password in it, visible to every local user
 * while the backup runs.
 * Expected safe behaviour: no secret parameter of the URL (password, sslpassword, ...) appears in the
 * child's arguments; it travels in the environment (PGPASSWORD / PGSSLPASSWORD) or the backup refuses.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { reinsIn } from '../support/deployment-fixture.js';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../support/postgres-database.js';

let directory: string | undefined;
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.drop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

it('a password in the URL query never reaches pg_dump command line', async () => {
  void ADMIN_URL;
  directory = mkdtempSync(join(tmpdir(), 'reins-pgargs-'));
  database = await createTestDatabase('reins_attack_args');
  // a deployment's store: the log's tables exist
  const log = await PostgresAuditLog.open({ connectionString: database.url });
  await log.close();
  const argv = join(directory, 'argv.txt');
  // stands in for pg_dump: records what any local user would see in `ps`
  const fake = join(directory, 'pg_dump');
  writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > ${JSON.stringify(argv)}\nexit 0\n`);
  chmodSync(fake, 0o755);
  // the deployment's checkpoint key: `reins backup` signs its manifest with it
  const keyFile = join(directory, 'checkpoint.key.pem');
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const url = new URL(database.url);
  url.searchParams.set('password', 'hunter2-in-query');
  const run = reinsIn(
    directory,
    { REINS_PG_DUMP: fake, REINS_SIGNING_KEY: keyFile },
    'backup',
    '--database-url',
    url.toString(),
    '--out',
    join(directory, 'backup'),
  );
  const args = (() => {
    try {
      return readFileSync(argv, 'utf8');
    } catch {
      throw new Error(`pg_dump was not run: ${run.stderr}`);
    }
  })();
  expect(args).toContain('--dbname=');
  // today: "--dbname=postgres://postgres@127.0.0.1:5432/reins_attack_args_...?password=hunter2-in-query"
  expect(args, run.stderr).not.toContain('hunter2-in-query');
  expect(run.stdout + run.stderr).not.toContain('hunter2-in-query');
}, 60_000);
