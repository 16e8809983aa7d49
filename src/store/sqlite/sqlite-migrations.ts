/**
 * @module store/sqlite/sqlite-migrations
 * Versioned schema of the embedded store, applied on open. A file written by a newer Reins
 * (higher `user_version`) is refused rather than guessed at.
 */

import Database from 'better-sqlite3';
import { describeError, ReinsError, type ReinsErrorCode } from '../../spec/errors.js';
import { ensurePrivateFile } from '../private-files.js';
import type { AuditTables } from '../retention.js';
import { assertSchemaNotNewer } from '../schema-version.js';
import type { Placeholder } from '../sql-builder.js';
import { configureConnection, type SqliteDurability } from './sqlite-audit-writer.js';

/** SQLite's parameters, for the statements built in store/ (sql-builder). */
export const SQLITE_PLACEHOLDER: Placeholder = () => '?';

/** The audit log's tables (one file, one schema). */
export const SQLITE_AUDIT_TABLES: AuditTables = {
  events: 'audit_events',
  checkpoints: 'audit_checkpoints',
  meta: 'audit_meta',
  captures: 'audit_captures',
};

/** The first schema version with `audit_captures` (a read-only handle may open an older file). */
export const SQLITE_CAPTURES_VERSION = 5;

/**
 * Each entry moves the schema from version index to index + 1. Never edit a released entry.
 * The audit table has no secondary indexes on purpose: they nearly double the cost of each append
 * (see docs/decisions/0002-audit-chain.md); query indexes are to be maintained off the write path.
 */
const MIGRATIONS: readonly string[] = [
  `create table audit_events (
     seq integer primary key,
     prev_hash text not null,
     hash text not null,
     body text not null,
     time text not null,
     kind text not null,
     decision_id text not null,
     session_id text not null,
     agent_id text not null,
     tool text not null,
     effect text not null
   );
   create table audit_checkpoints (
     seq integer primary key,
     hash text not null,
     time text not null,
     key_id text not null,
     signature text not null
   );
   -- key 'anchor': the checkpoint verification starts from after pruning (JSON)
   create table audit_meta (key text primary key, value text not null);
   -- query index, caught up from audit_events by readers (see SqliteAuditLog.query)
   create table audit_lookup (
     seq integer primary key,
     time text not null,
     kind text not null,
     session_id text not null,
     agent_id text not null,
     tool text not null,
     effect text not null
   );
   create index audit_lookup_session on audit_lookup (session_id, seq);
   create index audit_lookup_agent on audit_lookup (agent_id, seq);
   create index audit_lookup_tool on audit_lookup (tool, seq);
   create index audit_lookup_time on audit_lookup (time);
   create table audit_lookup_state (id integer primary key check (id = 1), last_seq integer not null);
   insert into audit_lookup_state (id, last_seq) values (1, 0);`,
  // 2: the identity store (see sqlite-identity-store). Bodies are the JSON records; `until` and `at`
  // are epoch milliseconds. Every write appends to identity_changes, which other connections poll.
  `create table agents (
     id text primary key,
     body text not null,
     state text not null,
     updated_at text not null
   );
   create table signing_keys (kid text primary key, body text not null);
   create table revocations (
     kind text not null,
     id text not null,
     until integer not null,
     body text not null,
     primary key (kind, id)
   );
   create index revocations_until on revocations (until);
   create table identity_changes (
     id integer primary key autoincrement,
     kind text not null,
     ref text not null,
     body text,
     at integer not null
   );
   -- the highest change id pruned so far: a reader behind it has missed changes and resynchronises
   create table identity_meta (id integer primary key check (id = 1), pruned_through integer not null);
   insert into identity_meta (id, pruned_through) values (1, 0);`,
  // 3: the oversight store (see sqlite-oversight-store): approval requests, overrides and session
  // control. Bodies are the JSON records; every write appends to oversight_changes, which other
  // connections poll. Epoch milliseconds in `at` and `expires_at`.
  `create table approvals (
     id text primary key,
     body text not null,
     status text not null,
     session_id text not null,
     created_at text not null
   );
   create index approvals_status on approvals (status, created_at);
   create table approval_overrides (
     decision_id text primary key,
     call_hash text not null,
     body text not null,
     expires_at integer not null,
     used integer not null default 0
   );
   create index approval_overrides_hash on approval_overrides (call_hash);
   create table session_control (
     id text primary key,
     body text not null,
     status text not null,
     agent_id text not null,
     updated_at text not null
   );
   create index session_control_updated on session_control (updated_at);
   create table oversight_changes (
     id integer primary key autoincrement,
     kind text not null,
     ref text not null,
     at integer not null
   );`,
  // 4: limit counters (see sqlite-counter-store): one row per amount a call reserved; `at` in epoch
  // milliseconds. Rows are deleted when the call did not run, or once outside every window.
  `create table counter_entries (
     key text not null,
     at integer not null,
     amount real not null,
     decision_id text not null
   );
   create index counter_entries_key on counter_entries (key, at);
   create index counter_entries_decision on counter_entries (decision_id);`,
  // 5: captured contents (store/captured-content), apart from the chain, by sha256 (hex). Written in the
  // transaction of the record they come with; `last_seq` is the newest such record, and pruning deletes
  // the rows it passes (store/retention).
  `create table audit_captures (
     hash text primary key,
     content blob not null,
     last_seq integer not null
   );
   create index audit_captures_last_seq on audit_captures (last_seq);`,
  // 6: leases (see sqlite-counter-store): one holder per key until `expires` (epoch milliseconds).
  `create table leases (
     key text primary key,
     holder text not null,
     expires integer not null
   );`,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Refuses a store this version cannot read: newer than the code, or not (yet) a Reins store. */
export function checkSqliteSchema(database: Database.Database): void {
  const current = database.pragma('user_version', { simple: true }) as number;
  if (current === 0) {
    throw new ReinsError('store_schema_mismatch', 'not a Reins audit store (schema version 0)');
  }
  assertNotNewer(current);
}

function assertNotNewer(current: number): void {
  assertSchemaNotNewer(current, SQLITE_SCHEMA_VERSION);
}

export function applySqliteMigrations(database: Database.Database): void {
  assertNotNewer(database.pragma('user_version', { simple: true }) as number);
  // one immediate transaction, re-reading the version inside it: two connections opening an older file
  // at once (the audit log and the identity store share one) must not both run the same migration
  database
    .transaction(() => {
      const current = database.pragma('user_version', { simple: true }) as number;
      assertNotNewer(current);
      for (let version = current; version < SQLITE_SCHEMA_VERSION; version++) {
        database.exec(MIGRATIONS[version] as string);
        database.pragma(`user_version = ${version + 1}`);
      }
    })
    .immediate();
}

/**
 * Opens a store file for reading and writing (parent directories created, WAL, migrations applied).
 * A failure is reported as `code`, naming `what` and the path; a schema mismatch keeps its own error.
 */
export function openSqliteStore(
  path: string,
  what: string,
  code: ReinsErrorCode,
  durability: SqliteDurability = 'full',
): Database.Database {
  try {
    ensurePrivateFile(path);
    const database = new Database(path);
    configureConnection(database, durability);
    applySqliteMigrations(database);
    return database;
  } catch (error) {
    if (error instanceof ReinsError) throw error;
    throw new ReinsError(code, `cannot open ${what} \`${path}\`: ${describeError(error)}`);
  }
}
