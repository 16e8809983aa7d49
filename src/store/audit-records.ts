/**
 * @module store/audit-records
 * What both audit logs (SQLite, PostgreSQL) share besides their SQL: turning events into records on
 * the way in (serialising, linking a batch to the chain head, the checkpoints the cadence makes due)
 * and rows into records, checkpoints and the pruning anchor on the way out. One place, so that both
 * backends write the same chain and sign the same checkpoints.
 */
import type { VerifyOptions } from '../audit/chain.js';
import type { CheckpointKeys } from '../audit/checkpoint.js';
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

// extending the chain, which the writers do, is store/chain-append (no schemas: the SQLite writer thread loads it)
export {
  anchorSql,
  type ChainLink,
  chainHead,
  dueCheckpoints,
  headCheckpoint,
  linkBatch,
} from './chain-append.js';

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
