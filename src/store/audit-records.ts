/**
 * @module store/audit-records
 * What both audit logs (SQLite, PostgreSQL) share besides their SQL: turning events into records on
 * the way in (serialising, linking a batch to the chain head, the checkpoints the cadence makes due)
 * and rows into records, checkpoints and the pruning anchor on the way out. One place, so that both
 * backends write the same chain and sign the same checkpoints.
 */
import { linkRecord, type VerifyOptions } from '../audit/chain.js';
import {
  type CheckpointKeys,
  type CheckpointSigner,
  checkpointSeqsDue,
  forcedCheckpointDue,
} from '../audit/checkpoint.js';
import { type AuditCheckpointV1, AuditCheckpointV1Schema } from '../spec/audit-checkpoint.js';
import {
  type AuditEventV1,
  type ChainedRecord,
  type PreparedEvent,
  prepareEvent,
} from '../spec/audit-event.js';
import { describeError, ReinsError } from '../spec/errors.js';
import { type AuditLogOptions, DEFAULT_CHECKPOINT_EVERY } from './audit-log.js';
import type { Placeholder } from './sql-builder.js';

/** A record's place in the chain: all an append needs to report, and all the next one links to. */
export interface ChainLink {
  readonly seq: number;
  readonly hash: string;
}

/** The cadence a log signs at (default 1,000); anything below 1 is refused before the store opens. */
export function checkpointCadence(options: AuditLogOptions): number {
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!(every >= 1)) throw new RangeError(`checkpointEvery must be at least 1, got \`${every}\``);
  return every;
}

/** Serialises an event for appending; one that cannot be is refused as the audit log's failure. */
export function prepareForAppend(event: AuditEventV1): PreparedEvent {
  try {
    return prepareEvent(event);
  } catch (error) {
    throw new ReinsError('audit_unavailable', `audit event cannot be serialised: ${describeError(error)}`);
  }
}

/** A failed batch: every append in it is refused (the harness then denies the calls). */
export function auditWriteFailed(error: unknown): ReinsError {
  return new ReinsError('audit_unavailable', `audit write failed: ${describeError(error)}`);
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

/** A row of `audit_events` (a `bigint` seq comes as a string from PostgreSQL). */
export interface EventRowFields {
  readonly seq: number | string;
  readonly prev_hash: string;
  readonly hash: string;
  readonly body: string;
  readonly time: string;
  readonly kind: string;
  readonly decision_id: string;
  readonly session_id: string;
  readonly agent_id: string;
  readonly tool: string;
  readonly effect: string;
}

export function toRecord(row: EventRowFields): ChainedRecord {
  return {
    seq: Number(row.seq),
    prevHash: row.prev_hash,
    hash: row.hash,
    body: row.body,
    time: row.time,
    kind: row.kind,
    decisionId: row.decision_id,
    sessionId: row.session_id,
    agentId: row.agent_id,
    tool: row.tool,
    effect: row.effect,
  };
}

/** A row of `audit_checkpoints`. */
export interface CheckpointRowFields {
  readonly seq: number | string;
  readonly hash: string;
  readonly time: string;
  readonly key_id: string;
  readonly signature: string;
}

export function toCheckpoint(row: CheckpointRowFields): AuditCheckpointV1 {
  return {
    v: 1,
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** The query that reads the pruning anchor (`value`, JSON) from the meta table. */
export function anchorSql(metaTable: string): string {
  return `select value from ${metaTable} where key = 'anchor'`;
}

/** The stored pruning anchor, checked: verification starts from it. */
export function parseAnchor(value: string | undefined): AuditCheckpointV1 | undefined {
  return value === undefined ? undefined : AuditCheckpointV1Schema.parse(JSON.parse(value));
}

/** What `verifyChain` checks a log against, as both backends assemble it (absent options left out). */
export function chainVerifyOptions(
  checkpoints: readonly AuditCheckpointV1[],
  options: { publicKey?: CheckpointKeys | undefined; checkpointEvery?: number | undefined },
  anchor: AuditCheckpointV1 | undefined,
): VerifyOptions {
  return {
    checkpoints,
    ...(options.publicKey ? { publicKey: options.publicKey } : {}),
    ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(anchor ? { anchor } : {}),
  };
}

/** Records are read this many at a time (`records()`, verification). */
export const RECORD_PAGE_SIZE = 5_000;

/** A page of records after a seq (parameters: the seq, the page size), in chain order. */
export function recordPageSql(eventsTable: string, placeholder: Placeholder): string {
  return `select * from ${eventsTable} where seq > ${placeholder(1)} order by seq limit ${placeholder(2)}`;
}

/** `AuditLog.records`: every record after `afterSeq`, a page at a time, until a short page. */
export async function* pagedRecords(
  afterSeq: number,
  readPage: (after: number, size: number) => Promise<EventRowFields[]> | EventRowFields[],
): AsyncIterable<ChainedRecord> {
  let after = afterSeq;
  for (;;) {
    const rows = await readPage(after, RECORD_PAGE_SIZE);
    for (const row of rows) yield toRecord(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < RECORD_PAGE_SIZE) return;
    after = Number(last.seq);
  }
}
