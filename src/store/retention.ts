/**
 * @module store/retention
 * What every backend keeps and for how long, in one place: the change feeds' rows, expired
 * revocations, and the audit log's pruning (records up to a signed checkpoint, which stays as the
 * anchor verification starts from). Backends run the statements in their own transactions.
 */
import type { Placeholder } from './sql-builder.js';

/** Identity change rows are kept this long: a reader asleep for longer resynchronises instead. */
export const IDENTITY_CHANGE_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Oversight change rows are kept this long: a listener only needs the ones since its last catch-up. */
export const OVERSIGHT_CHANGE_RETENTION_MS = 60 * 60 * 1000;
/** Revocations are deleted this long after their `until` (margin for clocks that disagree). */
export const REVOCATION_GRACE_MS = 60 * 60 * 1000;
/** The identity stores' housekeeping runs in a write at most this often. */
export const HOUSEKEEPING_EVERY_MS = 60 * 60 * 1000;

/** When a store instance next does its housekeeping (within a write, at most hourly). */
export class HousekeepingSchedule {
  private last = 0;

  due(now: number): boolean {
    return now - this.last >= HOUSEKEEPING_EVERY_MS;
  }

  /** Called once the write that did the housekeeping has committed. */
  done(now: number): void {
    this.last = now;
  }
}

/** The identity store's cut-offs (epoch ms): revocations `until` before, change rows `at` before. */
export function identityPruneCutoffs(now: number): { revocations: number; changes: number } {
  return { revocations: now - REVOCATION_GRACE_MS, changes: now - IDENTITY_CHANGE_RETENTION_MS };
}

/** The tables of an audit log (schema-qualified on PostgreSQL). */
export interface AuditTables {
  readonly events: string;
  readonly checkpoints: string;
  readonly meta: string;
  /** Captured contents, by hash (store/captured-content). */
  readonly captures: string;
}

/**
 * The statements of `AuditLog.prune(before)`, each with one parameter: find the newest checkpoint
 * signed before the cut-off (an ISO 8601 time), delete the records up to it and the checkpoints
 * before it, and keep it as the anchor. Records after the last such checkpoint are never deleted.
 *
 * Captured contents go with the records they came with. Each content row keeps `last_seq`, the seq of
 * the newest record it was appended with (raised when the same content comes again, in the same
 * transaction as that record). Records are pruned by seq, up to the anchor, so a content whose
 * `last_seq` is at or before the anchor was used only by pruned records and goes in the same
 * transaction; one that a kept record came with has a `last_seq` after the anchor and stays. Seqs,
 * not times: they are given in the commit that writes both, and no clock can put them out of order.
 */
export function auditPruneSql(tables: AuditTables, placeholder: Placeholder) {
  const value = placeholder(1);
  return {
    anchorBefore: `select * from ${tables.checkpoints} where time < ${value} order by seq desc limit 1`,
    deleteRecordsThrough: `delete from ${tables.events} where seq <= ${value}`,
    deleteCheckpointsBefore: `delete from ${tables.checkpoints} where seq < ${value}`,
    deleteCapturesThrough: `delete from ${tables.captures} where last_seq <= ${value}`,
    keepAnchor: `insert into ${tables.meta} (key, value) values ('anchor', ${value})
                 on conflict (key) do update set value = excluded.value`,
  } as const;
}
