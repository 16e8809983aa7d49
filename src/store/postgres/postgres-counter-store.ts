/**
 * @module store/postgres/postgres-counter-store
 * Limit counters in a PostgreSQL schema shared by any number of gateways. A reservation is one round
 * trip: the schema's `reins_reserve` function (postgres-migrations, version 4) locks each counter
 * (transaction-scoped advisory locks, in key order), sums its window, and inserts every amount only if
 * all of them fit, so replicas deciding at the same moment cannot overshoot a shared limit. Entries
 * are timed by the database server's clock, so replicas whose clocks differ still share one window.
 *
 * The reservation commits without waiting for its WAL flush (`synchronous_commit = off`, for that
 * transaction only): the call's intent is committed after it, with a flush, and the write-ahead log is
 * flushed in order, so the intent's flush makes the reservation durable too. A reservation lost in a
 * crash before that belonged to a call whose intent was lost with it: a call that never ran.
 *
 * A lease (store/leases) is taken in one statement, `insert ... on conflict do update ... where`, which
 * PostgreSQL runs atomically against the latest committed row: of two replicas asking at once, one
 * writes and the other finds a lease that is neither lapsed nor its own.
 */
import type { Pool } from 'pg';
import type { ChainedRecord } from '../../spec/audit-event.js';
import { describeError, ReinsError } from '../../spec/errors.js';
import { type EventRowFields, toRecord } from '../audit-records.js';
import { acquireLeaseSql, leaseTimes, releaseLeaseSql } from '../leases.js';
import type { CounterStore, CountRequest, ReserveResult } from '../state-stores.js';
import { readQuery } from './postgres-connections.js';
import { POSTGRES_PLACEHOLDER, quoteIdentifier } from './postgres-migrations.js';

export class PostgresCounterStore implements CounterStore {
  private readonly table: string;
  private readonly reserveFunction: string;
  private readonly auditTable: string;
  private readonly leasesTable: string;

  /** `pool` belongs to the caller (a store whose schema is migrated). */
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {
    this.table = `${quoteIdentifier(schema)}.counter_entries`;
    this.reserveFunction = `${quoteIdentifier(schema)}.reins_reserve`;
    this.auditTable = `${quoteIdentifier(schema)}.audit_events`;
    this.leasesTable = `${quoteIdentifier(schema)}.leases`;
  }

  async reserve(decisionId: string, at: number, counts: readonly CountRequest[]): Promise<ReserveResult> {
    if (counts.length === 0) return { ok: true };
    const result = await readQuery<{ totals: number[] | null }>(
      this.pool,
      `select ${this.reserveFunction}($1, $2, $3, $4, $5, $6) as totals`,
      this.reserveParameters(decisionId, at, counts),
      failure,
    );
    return this.reserveResult(counts, result.rows[0]?.totals ?? null);
  }

  private reserveParameters(decisionId: string, at: number, counts: readonly CountRequest[]): unknown[] {
    // windows, not start times: the server's clock places them (replicas' clocks may differ)
    return [
      `reins/counter/${this.schema}/`,
      decisionId,
      counts.map((count) => count.key),
      counts.map((count) => count.amount),
      counts.map((count) => count.max),
      counts.map((count) => Math.max(0, Math.round(at - count.sinceMs))),
    ];
  }

  /** `reins_reserve` returns null when everything fit, else the totals of every count. */
  private reserveResult(counts: readonly CountRequest[], totals: number[] | null): ReserveResult {
    if (totals === null) return { ok: true };
    return { ok: false, totals: new Map(counts.map((count, index) => [count.key, Number(totals[index])])) };
  }

  /**
   * One statement: the reservation, then the audit records after `afterSeq` as of the statement's
   * start (a snapshot taken after the caller's decision began), joined to the one row it returns.
   */
  async reserveAndReadLog(
    decisionId: string,
    at: number,
    counts: readonly CountRequest[],
    afterSeq: number,
    limit: number,
  ): Promise<{ result: ReserveResult; records: ChainedRecord[] }> {
    const result = await readQuery<EventRowFields & { totals: number[] | null }>(
      this.pool,
      `select r.totals, e.* from (select ${this.reserveFunction}($1, $2, $3, $4, $5, $6) as totals) r
         left join lateral (select * from ${this.auditTable} where seq > $7 order by seq limit $8) e on true`,
      [...this.reserveParameters(decisionId, at, counts), afterSeq, limit],
      failure,
    );
    const totals = result.rows[0]?.totals ?? null;
    const records = result.rows.filter((row) => row.seq !== null).map((row) => toRecord(row));
    return { result: this.reserveResult(counts, totals), records };
  }

  async release(decisionId: string): Promise<void> {
    await readQuery(this.pool, `delete from ${this.table} where decision_id = $1`, [decisionId], failure);
  }

  async totals(keys: readonly { key: string; sinceMs: number }[]): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const result = await readQuery<{ key: string; total: number }>(
      this.pool,
      `select k.key, (select coalesce(sum(c.amount), 0) from ${this.table} c
                      where c.key = k.key and c.at >= k.since) as total
         from unnest($1::text[], $2::bigint[]) as k(key, since)`,
      [keys.map((entry) => entry.key), keys.map((entry) => entry.sinceMs)],
      failure,
    );
    return new Map(result.rows.map((row) => [row.key, Number(row.total)]));
  }

  async prune(beforeMs: number): Promise<number> {
    const result = await readQuery(this.pool, `delete from ${this.table} where at < $1`, [beforeMs], failure);
    return result.rowCount ?? 0;
  }

  async acquireLease(key: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const times = leaseTimes(key, holder, ttlMs, now);
    const result = await readQuery(
      this.pool,
      acquireLeaseSql(this.leasesTable, POSTGRES_PLACEHOLDER),
      [key, holder, times.expires, times.now],
      leaseFailure,
    );
    return result.rowCount === 1;
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    await readQuery(
      this.pool,
      releaseLeaseSql(this.leasesTable, POSTGRES_PLACEHOLDER),
      [key, holder],
      leaseFailure,
    );
  }
}

function leaseFailure(_operation: 'read' | 'write', error: unknown): ReinsError {
  return new ReinsError('store_unavailable', `leases could not be written: ${describeError(error)}`);
}

function failure(operation: 'read' | 'write', error: unknown): ReinsError {
  return new ReinsError(
    'store_unavailable',
    `limit counters could not ${operation === 'read' ? 'be read' : 'be written'}: ${describeError(error)}`,
  );
}
