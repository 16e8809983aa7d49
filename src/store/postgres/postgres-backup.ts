/**
 * @module store/postgres/postgres-backup
 * Backup and restore of a PostgreSQL deployment (docs/decisions/0024) with PostgreSQL's own tools: a
 * backup is `pg_dump -Fc` of the deployment's database, run on a snapshot this module exports and
 * holds, so that the tail of the log read here is exactly the one in the dump; a restore is
 * `pg_restore --clean --if-exists --single-transaction` into the database (all or nothing). The
 * password (in the URL's userinfo or its `password` query parameter) and `sslpassword` travel in the
 * environment of the child (PGPASSWORD, PGSSLPASSWORD), never on its command line.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { GENESIS_HASH } from '../../audit/chain.js';
import type { BackupTail } from '../../spec/backup.js';
import { describeError, ReinsError } from '../../spec/errors.js';
import { anchorSql, parseAnchor } from '../audit-records.js';
import { PRIVATE_FILE_MODE } from '../private-files.js';
import { createPool } from './postgres-connections.js';

export interface PostgresTools {
  /** Default `pg_dump` / `pg_restore` on the PATH (REINS_PG_DUMP / REINS_PG_RESTORE override). */
  readonly pgDump?: string;
  readonly pgRestore?: string;
}

/** Dumps the database of `connectionString` into the new file `destination` (0600, created here). */
export async function backupPostgresStore(
  connectionString: string,
  destination: string,
  tools: PostgresTools = {},
): Promise<BackupTail> {
  closeSync(openSync(destination, 'wx', PRIVATE_FILE_MODE));
  const pool = createPool(connectionString, 1, 10_000);
  const client = await pool.connect();
  try {
    // the snapshot pg_dump reads is the one the tail is read in: both see the same log
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]?.id;
    const tail = await readTail(client);
    await run(tools.pgDump ?? process.env.REINS_PG_DUMP ?? 'pg_dump', connectionString, [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      `--snapshot=${snapshot}`,
      `--file=${destination}`,
    ]);
    return tail;
  } finally {
    await client.query('rollback').catch(() => {});
    client.release();
    await pool.end();
  }
}

/** Restores the dump into the database of `connectionString`, replacing what the dump holds. */
export async function restorePostgresStore(
  connectionString: string,
  dump: string,
  tools: PostgresTools = {},
): Promise<void> {
  await run(tools.pgRestore ?? process.env.REINS_PG_RESTORE ?? 'pg_restore', connectionString, [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--no-privileges',
    '--single-transaction',
    '--exit-on-error',
    dump,
  ]);
}

/**
 * The other client sessions connected to the database of `connectionString` (gateways, replicas, CLI
 * commands, anything else), as `application_name (user)` each. Every session counts, not only those
 * named `reins`: a connection string may set its own application_name (`?application_name=reins-eu-1`),
 * and a gateway it hides would go on writing under the restore. The server ends the backend of a
 * process that just exited a moment later, so sessions still there are asked again for up to `graceMs`
 * before they are believed.
 */
export async function postgresStoreConnections(connectionString: string, graceMs = 3_000): Promise<string[]> {
  const pool = createPool(connectionString, 1, 10_000);
  const until = Date.now() + graceMs;
  try {
    for (;;) {
      const { rows } = await pool.query<{ name: string; role: string | null }>(
        `select application_name as name, usename as role from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend'
            and pid <> pg_backend_pid()`,
      );
      if (rows.length === 0 || Date.now() >= until)
        return rows.map(({ name, role }) => `${name || 'unnamed'} (${role ?? 'unknown role'})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await pool.end();
  }
}

async function readTail(client: { query: <R>(sql: string) => Promise<{ rows: R[] }> }): Promise<BackupTail> {
  const last = (
    await client.query<{ seq: string; hash: string }>(
      'select seq, hash from public.audit_events order by seq desc limit 1',
    )
  ).rows[0];
  if (last !== undefined) return { seq: Number(last.seq), hash: last.hash };
  const anchor = parseAnchor(
    (await client.query<{ value: string }>(anchorSql('public.audit_meta'))).rows[0]?.value,
  );
  return anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: GENESIS_HASH };
}

/** The URL parameters that hold secrets: libpq takes them from the environment instead. */
const SECRET_PARAMETERS = { password: 'PGPASSWORD', sslpassword: 'PGSSLPASSWORD' } as const;

/**
 * Splits a connection string into what may be seen on a command line (`ps`, /proc: every local user)
 * and the secrets, which go in the child's environment: the userinfo password and the `password` and
 * `sslpassword` query parameters (libpq and node-postgres accept both spellings).
 */
export function connectionForTools(connectionString: string): {
  readonly url: string;
  readonly env: Record<string, string>;
  readonly secrets: readonly string[];
} {
  const url = new URL(connectionString);
  const env: Record<string, string> = {};
  if (url.password) env.PGPASSWORD = decodeURIComponent(url.password);
  url.password = '';
  for (const [parameter, variable] of Object.entries(SECRET_PARAMETERS)) {
    const value = url.searchParams.get(parameter);
    url.searchParams.delete(parameter);
    // the userinfo password wins, as it does for node-postgres
    if (value !== null && env[variable] === undefined) env[variable] = value;
  }
  return { url: url.toString(), env, secrets: Object.values(env).filter((value) => value !== '') };
}

/** Runs a PostgreSQL client tool on the database of `connectionString`; its error output on failure. */
function run(command: string, connectionString: string, args: readonly string[]): Promise<void> {
  const { url, env, secrets } = connectionForTools(connectionString);
  // whatever the tool echoes back (a connection error names the URL it was given) is redacted too
  const redact = (text: string) => secrets.reduce((out, secret) => out.split(secret).join('***'), text);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, `--dbname=${url}`], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error) =>
      reject(
        new ReinsError('audit_unavailable', `cannot run \`${command}\`: ${redact(describeError(error))}`),
      ),
    );
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new ReinsError(
            'audit_unavailable',
            `\`${command}\` failed (exit ${code}): ${redact(stderr.trim())}`,
          ),
        );
    });
  });
}
