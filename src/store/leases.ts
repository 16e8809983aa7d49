/**
 * @module store/leases
 * What every CounterStore's leases share (store/state-stores): the checks of a request, the expiry it
 * asks for, and the statements that take and give back a lease, the same text in both dialects. Taking
 * is one statement: insert the lease, or, when the key is held, take it over only if the lease lapsed
 * or is the caller's own (a renewal); it reports whether a row was written.
 */
import type { Placeholder } from './sql-builder.js';

/** Checks a lease request; returns its `now` and when it would expire, in whole epoch ms. */
export function leaseTimes(
  key: string,
  holder: string,
  ttlMs: number,
  now: number,
): { now: number; expires: number } {
  if (typeof key !== 'string' || key.length === 0) throw new RangeError('a lease needs a key');
  if (typeof holder !== 'string' || holder.length === 0) throw new RangeError('a lease needs a holder');
  if (!(typeof ttlMs === 'number' && ttlMs > 0 && Number.isFinite(ttlMs)))
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got \`${ttlMs}\``);
  if (!(typeof now === 'number' && Number.isFinite(now)))
    throw new RangeError(`now must be a time in epoch milliseconds, got \`${now}\``);
  // whole milliseconds: the stores keep integers
  return { now: Math.floor(now), expires: Math.floor(now) + Math.ceil(ttlMs) };
}

/**
 * Parameters: key, holder, expires, now. Writes one row when the lease is taken or renewed, none while
 * another holder's lease is unexpired (`expires > now`).
 */
export function acquireLeaseSql(table: string, placeholder: Placeholder): string {
  return `insert into ${table} as l (key, holder, expires) values (${placeholder(1)}, ${placeholder(2)}, ${placeholder(3)})
          on conflict (key) do update set holder = excluded.holder, expires = excluded.expires
          where l.expires <= ${placeholder(4)} or l.holder = excluded.holder`;
}

/** Parameters: key, holder. */
export function releaseLeaseSql(table: string, placeholder: Placeholder): string {
  return `delete from ${table} where key = ${placeholder(1)} and holder = ${placeholder(2)}`;
}
