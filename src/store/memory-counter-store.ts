/**
 * @module store/memory-counter-store
 * Limit counters in this process's memory: the `CounterStore` of a harness without a shared store
 * (an embedding in one process, tests). Same contract as the SQLite and PostgreSQL counters, checked
 * by the same conformance suite; atomic because nothing here awaits between the check and the write.
 */
import { leaseTimes } from './leases.js';
import type { CounterStore, CountRequest, ReserveResult } from './state-stores.js';

interface Entry {
  readonly at: number;
  readonly amount: number;
  readonly decisionId: string;
}

export class MemoryCounterStore implements CounterStore {
  private readonly entries = new Map<string, Entry[]>();
  private readonly leases = new Map<string, { readonly holder: string; readonly expires: number }>();

  async acquireLease(key: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
    const times = leaseTimes(key, holder, ttlMs, now);
    const lease = this.leases.get(key);
    if (lease !== undefined && lease.holder !== holder && lease.expires > times.now) return false;
    this.leases.set(key, { holder, expires: times.expires });
    return true;
  }

  async releaseLease(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }

  async reserve(decisionId: string, at: number, counts: readonly CountRequest[]): Promise<ReserveResult> {
    return this.reserveNow(decisionId, at, counts);
  }

  /** `reserve`, synchronously. */
  reserveNow(decisionId: string, at: number, counts: readonly CountRequest[]): ReserveResult {
    const totals = new Map<string, number>();
    let fits = true;
    for (const count of counts) {
      const total = this.totalOf(count.key, count.sinceMs);
      totals.set(count.key, total);
      if (total + count.amount > count.max) fits = false;
    }
    if (!fits) return { ok: false, totals };
    for (const count of counts) {
      let list = this.entries.get(count.key);
      if (list === undefined) {
        list = [];
        this.entries.set(count.key, list);
      }
      list.push({ at, amount: count.amount, decisionId });
    }
    return { ok: true };
  }

  /** A scan of every counter: releases are rare (calls that were let through and then did not run). */
  async release(decisionId: string): Promise<void> {
    for (const [key, list] of this.entries) {
      if (!list.some((entry) => entry.decisionId === decisionId)) continue;
      const kept = list.filter((entry) => entry.decisionId !== decisionId);
      if (kept.length > 0) this.entries.set(key, kept);
      else this.entries.delete(key);
    }
  }

  async totals(keys: readonly { key: string; sinceMs: number }[]): Promise<Map<string, number>> {
    return new Map(keys.map(({ key, sinceMs }) => [key, this.totalOf(key, sinceMs)]));
  }

  async prune(beforeMs: number): Promise<number> {
    let deleted = 0;
    for (const [key, list] of this.entries) {
      const kept = list.filter((entry) => entry.at >= beforeMs);
      deleted += list.length - kept.length;
      if (kept.length > 0) this.entries.set(key, kept);
      else this.entries.delete(key);
    }
    return deleted;
  }

  private totalOf(key: string, sinceMs: number): number {
    const list = this.entries.get(key);
    if (list === undefined) return 0;
    // a key belongs to one rule, so its window only moves forward: what fell out stays out
    let expired = 0;
    while (expired < list.length && (list[expired] as Entry).at < sinceMs) expired++;
    if (expired > 0) list.splice(0, expired);
    let total = 0;
    for (const entry of list) if (entry.at >= sinceMs) total += entry.amount;
    return total;
  }
}
