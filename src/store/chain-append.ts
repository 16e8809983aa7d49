/**
 * @module store/chain-append
 * What a writer of either audit log (SQLite, PostgreSQL) does to extend the chain inside its append
 * transaction: find the head (the last record, or the pruning anchor), link a batch to it, and sign the
 * checkpoints the cadence makes due. Apart from store/audit-records (which re-exports it) because it
 * reads no record and builds no schemas: the SQLite writer thread loads only this.
 */
import { linkRecord } from '../audit/chain-link.js';
import { type CheckpointSigner, checkpointSeqsDue, forcedCheckpointDue } from '../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import type { ChainedRecord, PreparedEvent } from '../spec/audit-event.js';

/** A record's place in the chain: all an append needs to report, and all the next one links to. */
export interface ChainLink {
  readonly seq: number;
  readonly hash: string;
}

/** The query that reads the pruning anchor (`value`, JSON) from the meta table. */
export function anchorSql(metaTable: string): string {
  return `select value from ${metaTable} where key = 'anchor'`;
}

/**
 * The head a batch links to: the last record, or the pruning anchor when every record up to it was
 * pruned (`readAnchor` is called only then: the stored JSON, if any).
 */
export function chainHead(
  last: ChainLink | undefined,
  readAnchor: () => string | null | undefined,
): ChainLink | undefined {
  if (last !== undefined) return last;
  const anchor = readAnchor();
  return anchor === null || anchor === undefined ? undefined : (JSON.parse(anchor) as AuditCheckpointV1);
}

/** Links a batch of events to the head, in order. */
export function linkBatch(head: ChainLink | undefined, events: readonly PreparedEvent[]): ChainedRecord[] {
  const records: ChainedRecord[] = [];
  let current = head;
  for (const event of events) {
    const record = linkRecord(current, event);
    records.push(record);
    current = record;
  }
  return records;
}

/**
 * The checkpoints a batch makes due: every `every`-th record after the last signed one, signed now,
 * to be stored in the batch's transaction. A seq before the batch is due only in a log some writer
 * left unsigned: the next due one inside the batch is signed.
 */
export function dueCheckpoints(
  signer: CheckpointSigner | undefined,
  signedThrough: number,
  batch: readonly ChainLink[],
  every: number,
): AuditCheckpointV1[] {
  const first = batch[0];
  const last = batch.at(-1);
  if (signer === undefined || first === undefined || last === undefined) return [];
  const now = new Date();
  const checkpoints: AuditCheckpointV1[] = [];
  for (const seq of checkpointSeqsDue(signedThrough, last.seq, every)) {
    const link = batch[seq - first.seq];
    if (link !== undefined) checkpoints.push(signer.sign(seq, link.hash, now));
  }
  return checkpoints;
}

/**
 * On demand (`checkpoint()`, close): the head signed, unless it is signed already. Only an existing
 * record is signed, never the anchor of a fully pruned log.
 */
export function headCheckpoint(
  signer: CheckpointSigner | undefined,
  last: ChainLink | undefined,
  signedThrough: number,
): AuditCheckpointV1 | undefined {
  if (signer === undefined || last === undefined || !forcedCheckpointDue(last.seq, signedThrough)) {
    return undefined;
  }
  return signer.sign(last.seq, last.hash, new Date());
}
