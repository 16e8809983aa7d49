/**
 * @module store/write-probe
 * What both backends' `probeWritable` share (AuditLog.probeWritable, for readiness): the bound on how
 * long a probe may wait for the write lock, and the one error it fails with. The probe itself is each
 * backend's own: it must take the same lock a real append takes, then roll back, writing nothing. Before
 * that it asks the log itself (`LogWriteState`): a store that could take a write is no use when the log
 * refuses every append (closed, or its writer failed for good), and readiness must say so.
 */
import { describeError, ReinsError } from '../spec/errors.js';

/**
 * A probe never waits longer than this for the lock, whatever it is asked: the SQLite one waits on the
 * event loop's thread (better-sqlite3 is synchronous), and a locked store is not ready either way.
 */
export const MAX_PROBE_WAIT_MS = 250;

/** The wait to use for a probe asked to finish within `timeoutMs`. */
export function probeWaitMs(timeoutMs: number): number {
  if (!(timeoutMs > 0)) throw new RangeError(`the probe's timeout must be positive, got \`${timeoutMs}\``);
  return Math.min(Math.ceil(timeoutMs), MAX_PROBE_WAIT_MS);
}

/** The store cannot take a write now (locked, read-only, unreachable). */
export function notWritable(error: unknown): ReinsError {
  const cause = (error as { code?: unknown } | null)?.code;
  return new ReinsError(
    'audit_unavailable',
    `the audit store cannot take a write now: ${describeError(error)}`,
    // the driver's code (SQLITE_BUSY, 55P03, ...) is what the public readiness endpoint may show
    typeof cause === 'string' ? { cause } : undefined,
  );
}

/** Why a log refuses every append whatever its store could take: a short code readiness may show. */
export type LogRefusal = 'closed' | 'read_only' | 'writer_failed';

/** The log itself refuses writes, for good (the store behind it may be fine). */
export function logRefusesWrites(refusal: LogRefusal, why: string): ReinsError {
  return new ReinsError('audit_unavailable', `the audit log takes no writes: ${why}`, { cause: refusal });
}
