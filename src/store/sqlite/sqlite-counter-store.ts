/**
 * @module store/sqlite/sqlite-counter-store
 * Limit counters in the embedded store (the audit log's file), shared by every process on the file.
 * A reservation sums and inserts in one immediate transaction, which SQLite serialises across
 * connections and processes, so concurrent reservations cannot overshoot a limit.
 *
 * The connection commits without its own fsync (synchronous = NORMAL): the call's intent record is
 * made durable in the same write-ahead log right after (an fsync of the WAL, under `full` or `causal`
 * durability), and that fsync covers every frame written before it. A reservation whose intent never became durable is lost with it, and so is
 * its call, which then never ran. Leases (store/leases) are one statement each, on the same connection;
 * one lost with a machine crash belonged to a holder that went down with it.
 */
import type Database from 'better-sqlite3';
import { acquireLeaseSql, leaseTimes, releaseLeaseSql } from '../leases.js';
import type { CounterStore, CountRequest, ReserveResult } from '../state-stores.js';
import { openSqliteStore, SQLITE_PLACEHOLDER } from './sqlite-migrations.js';

export class SqliteCounterStore implements CounterStore {
  private readonly database: Database.Database;
  private readonly sum: Database.Statement<[string, number], { total: number }>;
  private readonly insert: Database.Statement<[string, number, number, string]>;
  private readonly reserveAll: (
    decisionId: string,
    at: number,
    counts: readonly CountRequest[],
  ) => ReserveResult;

  constructor(path: string) {
    this.database = openSqliteStore(path, 'counter store', 'store_unavailable', 'process');
    this.sum = this.database.prepare(
      'select coalesce(sum(amount), 0) as total from counter_entries where key = ? and at >= ?',
    );
    this.insert = this.database.prepare(
      'insert into counter_entries (key, at, amount, decision_id) values (?, ?, ?, ?)',
    );
    const transaction = this.database.transaction(
      (decisionId: string, at: number, counts: readonly CountRequest[]): ReserveResult => {
        const totals = new Map<string, number>();
        let fits = true;
        for (const count of counts) {
          const total = (this.sum.get(count.key, count.sinceMs) as { total: number }).total;
          totals.set(count.key, total);
          if (total + count.amount > count.max) fits = false;
        }
        if (!fits) return { ok: false, totals };
        for (const count of counts) this.insert.run(count.key, at, count.amount, decisionId);
        return { ok: true };
      },
    );
    this.reserveAll = (decisionId, at, counts) => transaction.immediate(decisionId, at, counts);
  }

  async reserve(decisionId: string, at: number, counts: readonly CountRequest[]): Promise<ReserveResult> {
    if (counts.length === 0) return { ok: true };
    return this.reserveAll(decisionId, at, counts);
  }

  async release(decisionId: string): Promise<void> {
    this.database.prepare('delete from counter_entries where decision_id = ?').run(decisionId);
  }

  async totals(keys: readonly { key: string; sinceMs: number }[]): Promise<Map<string, number>> {
    return new Map(
      keys.map(({ key, sinceMs }) => [key, (this.sum.get(key, sinceMs) as { total: number }).total]),
    );
  }

  async prune(beforeMs: number): Promise<number> {
    return this.database.prepare('delete from counter_entries where at < ?').run(beforeMs).changes;
  }

  async acquireLease(key: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const times = leaseTimes(key, holder, ttlMs, now);
    const written = this.database
      .prepare(acquireLeaseSql('leases', SQLITE_PLACEHOLDER))
      .run(key, holder, times.expires, times.now);
    return written.changes === 1;
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    this.database.prepare(releaseLeaseSql('leases', SQLITE_PLACEHOLDER)).run(key, holder);
  }

  close(): void {
    if (this.database.open) this.database.close();
  }
}
