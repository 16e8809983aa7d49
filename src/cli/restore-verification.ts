/**
 * @module cli/restore-verification
 * Verifying a log that may have been restored from a backup (docs/decisions/0024): the log's restore
 * records are read first, those that account for their cut set aside the published checkpoints they
 * declare lost (audit/restore), and the chain is verified against the rest as usual. Used by
 * `reins audit verify`, and by `reins restore` to check a backup against the published checkpoints
 * before it replaces anything.
 */
import type { KeyObject } from 'node:crypto';
import type { VerifyReport } from '../audit/chain.js';
import {
  describeLost,
  type RestoreFinding,
  type RestoreInLog,
  type RestoreReconciliation,
  reconcileRestores,
  uncoveredRestores,
} from '../audit/restore.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import type { RestoreEvent } from '../spec/audit-event.js';
import { type AuditLog, MAX_QUERY_LIMIT } from '../store/audit-log.js';

export interface RestoreAwareReport {
  readonly report: VerifyReport;
  readonly reconciliation: RestoreReconciliation;
  /** Restore records that do not account for their cut, or are not covered by a published checkpoint. */
  readonly problems: readonly RestoreFinding[];
}

export interface RestoreAwareOptions {
  readonly keys: readonly KeyObject[];
  readonly published: readonly AuditCheckpointV1[];
  readonly checkpointEvery: number;
  /** Check only the published checkpoints up to this seq (a backup, before it is restored). */
  readonly upTo?: number;
}

export async function verifyAccountingForRestores(
  log: AuditLog,
  options: RestoreAwareOptions,
): Promise<RestoreAwareReport> {
  const { keys, published, upTo } = options;
  const reconciliation = reconcileRestores(
    await restoresIn(log),
    published,
    keys.length > 0 ? keys : undefined,
  );
  const kept = published.filter(
    (checkpoint) =>
      !reconciliation.superseded.has(checkpoint) && (upTo === undefined || checkpoint.seq <= upTo),
  );
  const report = await log.verify({
    publicKey: [...keys],
    extraCheckpoints: kept,
    checkpointEvery: options.checkpointEvery,
  });
  const uncovered = report.ok && upTo === undefined ? uncoveredRestores(reconciliation, published) : [];
  return { report, reconciliation, problems: [...reconciliation.problems, ...uncovered] };
}

/** The log's restore records, each with the hash of the record it follows. */
async function restoresIn(log: AuditLog): Promise<RestoreInLog[]> {
  const restores: RestoreInLog[] = [];
  for (const view of await log.query({ kind: 'restore', limit: MAX_QUERY_LIMIT })) {
    if (view.event.kind !== 'restore') continue;
    for await (const record of log.records({ afterSeq: view.seq - 1 })) {
      restores.push({ seq: view.seq, prevHash: record.prevHash, hash: record.hash, event: view.event });
      break;
    }
  }
  return restores;
}

/** One line for a restore that accounts for its cut, as `reins audit verify` prints it. */
export function describeRestore({ seq, event }: { seq: number; event: RestoreEvent }): string {
  const { lost, backup } = event;
  const what =
    lost === undefined
      ? 'no published records lost'
      : `${describeLost(lost)} lost (the last published checkpoint before it: record ${lost.to}, ${lost.checkpointHash.slice(0, 16)})`;
  return `restored at ${event.time} by ${event.actor.id} (record ${seq}, reason: ${event.reason}) from a ${backup.store} backup of ${backup.takenAt} holding records up to ${backup.tail.seq}: ${what}`;
}
