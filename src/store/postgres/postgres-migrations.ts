/**
 * @module store/postgres/postgres-migrations
 * Versioned schema of the PostgreSQL store, applied on open. The version lives in `reins_schema`
 * (one row); a store written by a newer Reins is refused rather than guessed at. Migrations run in
 * one transaction holding a transaction-scoped advisory lock, so processes opening the same store at
 * once apply them exactly once.
 */
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { ReinsError } from '../../spec/errors.js';
import { assertSchemaNotNewer } from '../schema-version.js';
import type { Placeholder } from '../sql-builder.js';

/** PostgreSQL's numbered parameters, for the statements built in store/ (sql-builder). */
export const POSTGRES_PLACEHOLDER: Placeholder = (position) => `$${position}`;

/**
 * Each entry moves the schema from version index to index + 1; it runs with `search_path` set to the
 * store's schema. Never edit a released entry.
 *
 * Table and column names are those of the SQLite store. Unlike SQLite, PostgreSQL keeps the query
 * indexes on the audit table itself (a b-tree insert is cheap next to the commit; see
 * bench/postgres-append.ts). The searchable columns use the "C" collation: byte-wise comparison like
 * SQLite's, so ISO 8601 time ranges compare as strings whatever the database's locale, and index
 * maintenance avoids locale-aware string comparison.
 */
const MIGRATIONS: readonly string[] = [
  `create table audit_events (
     seq bigint primary key,
     prev_hash text not null,
     hash text not null,
     body text not null,
     time text collate "C" not null,
     kind text collate "C" not null,
     decision_id text not null,
     session_id text collate "C" not null,
     agent_id text collate "C" not null,
     tool text collate "C" not null,
     effect text collate "C" not null
   );
   create index audit_events_session on audit_events (session_id, seq);
   create index audit_events_agent on audit_events (agent_id, seq);
   create index audit_events_tool on audit_events (tool, seq);
   create index audit_events_time on audit_events (time);
   create table audit_checkpoints (
     seq bigint primary key,
     hash text not null,
     time text collate "C" not null,
     key_id text not null,
     signature text not null
   );
   -- key 'anchor': the checkpoint verification starts from after pruning (JSON)
   create table audit_meta (key text primary key, value text not null);`,
  // 2: the identity store (see postgres-identity-store). Bodies are the JSON records as text; `until`
  // and `at` are epoch milliseconds. Every write appends to identity_changes (ids in commit order:
  // writers hold an advisory lock) and notifies the store's channel.
  `create table agents (
     id text collate "C" primary key,
     body text not null,
     state text not null,
     updated_at text not null
   );
   create table signing_keys (kid text collate "C" primary key, body text not null);
   create table revocations (
     kind text collate "C" not null,
     id text collate "C" not null,
     until bigint not null,
     body text not null,
     primary key (kind, id)
   );
   create index revocations_until on revocations (until);
   create table identity_changes (
     id bigserial primary key,
     kind text not null,
     ref text not null,
     body text,
     at bigint not null
   );
   -- the highest change id pruned so far: a reader behind it has missed changes and resynchronises
   create table identity_meta (id int primary key check (id = 1), pruned_through bigint not null);
   insert into identity_meta (id, pruned_through) values (1, 0);`,
  // 3: the oversight store (see postgres-oversight-store): approval requests, overrides and session
  // control. Every write appends to oversight_changes (ids in commit order: writers hold an advisory
  // lock) and notifies the store's channel.
  `create table approvals (
     id text collate "C" primary key,
     body text not null,
     status text not null,
     session_id text collate "C" not null,
     created_at text not null
   );
   create index approvals_status on approvals (status, created_at);
   create table approval_overrides (
     decision_id text collate "C" primary key,
     call_hash text not null,
     body text not null,
     expires_at bigint not null,
     used boolean not null default false
   );
   create index approval_overrides_hash on approval_overrides (call_hash);
   create table session_control (
     id text collate "C" primary key,
     body text not null,
     status text not null,
     agent_id text collate "C" not null,
     updated_at text not null
   );
   create index session_control_updated on session_control (updated_at);
   create table oversight_changes (
     id bigserial primary key,
     kind text not null,
     ref text not null,
     at bigint not null
   );`,
  // 4: limit counters (see postgres-counter-store): one row per amount a call reserved; `at` in epoch
  // milliseconds of the database server's clock. reins_reserve checks and records a call's amounts in
  // one round trip, holding a
  // transaction-scoped advisory lock per counter (taken in key order, so two reservations never
  // deadlock) while it sums and inserts. Its commit does not wait for a flush (see
  // postgres-counter-store).
  `create table counter_entries (
     key text collate "C" not null,
     at bigint not null,
     amount double precision not null,
     decision_id text collate "C" not null
   );
   create index counter_entries_key on counter_entries (key, at);
   create index counter_entries_decision on counter_entries (decision_id);
   create function reins_reserve(
     lock_base text, decision text,
     keys text[], amounts double precision[], maxes double precision[], windows bigint[]
   ) returns double precision[] language plpgsql set search_path from current as $$
   declare
     i int;
     total double precision;
     totals double precision[] := '{}';
     fits boolean := true;
     -- the server's clock, not the deciding process's: replicas whose clocks differ share one window
     now_ms bigint := (extract(epoch from clock_timestamp()) * 1000)::bigint;
   begin
     -- no flush of its own: the call's intent, committed after it, flushes the log up to and past it
     perform set_config('synchronous_commit', 'off', true);
     for i in select ord from unnest(keys) with ordinality as k(key, ord) order by key collate "C" loop
       perform pg_advisory_xact_lock(hashtextextended(lock_base || keys[i], 0));
     end loop;
     for i in 1 .. coalesce(array_length(keys, 1), 0) loop
       select coalesce(sum(c.amount), 0) into total
         from counter_entries c where c.key = keys[i] and c.at >= now_ms - windows[i];
       totals := totals || total;
       if total + amounts[i] > maxes[i] then fits := false; end if;
     end loop;
     if fits then
       insert into counter_entries (key, at, amount, decision_id)
         select k, now_ms, a, decision from unnest(keys, amounts) as u(k, a);
       return null;
     end if;
     return totals;
   end $$;`,
  // 5: captured contents (store/captured-content), apart from the chain, by sha256 (hex). Written in the
  // transaction of the record they come with, under the append lock; `last_seq` is the newest such
  // record, and pruning deletes the rows it passes (store/retention). Stored out of line without
  // compression: the server would otherwise compress large content while the append lock, which every
  // process's appends wait for, is held.
  `create table audit_captures (
     hash text collate "C" primary key,
     content bytea not null,
     last_seq bigint not null
   );
   alter table audit_captures alter column content set storage external;
   create index audit_captures_last_seq on audit_captures (last_seq);`,
  // 6: leases (see postgres-counter-store): one holder per key until `expires` (epoch milliseconds of
  // the callers' clocks).
  `create table leases (
     key text collate "C" primary key,
     holder text collate "C" not null,
     expires bigint not null
   );`,
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** `"name"`, quoted for use as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\u0000')) {
    throw new ReinsError('invalid_input', `invalid schema name \`${name}\``);
  }
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A 64-bit advisory lock key (as an SQL literal) for one purpose on one schema: stores in different
 * schemas of a database never wait for each other, nor do the audit log's appends and the identity or
 * oversight stores' writes.
 */
export function advisoryLockKey(
  purpose: 'migrate' | 'append' | 'identity' | 'oversight',
  schema: string,
): string {
  const digest = createHash('sha256').update(`reins/${purpose}/${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Creates the schema if it is missing and brings it up to the current version, or refuses it (newer
 * version). Leaves `client` outside any transaction, whatever happens.
 */
export async function applyPostgresMigrations(client: PoolClient, schema: string): Promise<void> {
  const quoted = quoteIdentifier(schema);
  await client.query('begin isolation level read committed');
  try {
    await client.query(`select pg_advisory_xact_lock(${advisoryLockKey('migrate', schema)})`);
    const exists = await client.query('select 1 from pg_namespace where nspname = $1', [schema]);
    // checked first: `create schema if not exists` needs the create privilege even when it exists
    if (exists.rowCount === 0) await client.query(`create schema ${quoted}`);
    await client.query(`set local search_path to ${quoted}`);
    await client.query(
      'create table if not exists reins_schema (id int primary key check (id = 1), version int not null)',
    );
    const row = await client.query<{ version: number }>('select version from reins_schema where id = 1');
    const current = row.rows[0]?.version ?? 0;
    assertSchemaNotNewer(current, POSTGRES_SCHEMA_VERSION);
    for (let version = current; version < POSTGRES_SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version] as string);
    }
    if (current < POSTGRES_SCHEMA_VERSION) {
      await client.query(
        `insert into reins_schema (id, version) values (1, $1)
         on conflict (id) do update set version = excluded.version`,
        [POSTGRES_SCHEMA_VERSION],
      );
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  }
}

/** Where a connection string points, without credentials (for error messages). */
export function describeTarget(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `\`${url.host}${url.pathname}\``;
  } catch {
    return 'the database';
  }
}
