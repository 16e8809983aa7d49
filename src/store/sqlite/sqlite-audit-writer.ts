/**
 * @module store/sqlite/sqlite-audit-writer
 * Appends batches of prepared events to the SQLite audit table in one immediate transaction, linking
 * each to the chain head read inside that transaction (so several writers, in this process or others,
 * still form one chain), and signs, in the same transaction, a checkpoint on every record the cadence
 * makes due (store/chain-append, as the PostgreSQL writer does). The contents captured with the
 * batch's events are stored in the same transaction (store/captured-content). Used directly for
 * in-memory logs and inside the writer thread for files.
 */
import type Database from 'better-sqlite3';
import type { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import type { PreparedEvent } from '../../spec/audit-event.js';
import type { AuditDurability } from '../../spec/gateway-config.js';
import { CAPTURE_CONFLICT_SQL, type CapturedInBatch, captureRows } from '../captured-content.js';
import {
  anchorSql,
  type ChainLink,
  chainHead,
  dueCheckpoints,
  headCheckpoint,
  linkBatch,
} from '../chain-append.js';

const FIELDS = ['body', 'time', 'kind', 'decisionId', 'sessionId', 'agentId', 'tool', 'effect'] as const;

/** Lays events out as one flat string array, field by field, for cheap transfer to the writer thread. */
export function flattenEvents(events: readonly PreparedEvent[]): string[] {
  const fields: string[] = [];
  for (const event of events) for (const field of FIELDS) fields.push(event[field]);
  return fields;
}

export function unflattenEvents(fields: readonly string[]): PreparedEvent[] {
  const events: PreparedEvent[] = [];
  for (let offset = 0; offset + FIELDS.length <= fields.length; offset += FIELDS.length) {
    const [body, time, kind, decisionId, sessionId, agentId, tool, effect] = fields.slice(
      offset,
      offset + FIELDS.length,
    ) as string[];
    events.push({ body, time, kind, decisionId, sessionId, agentId, tool, effect } as PreparedEvent);
  }
  return events;
}

export interface WrittenBatch {
  readonly firstSeq: number;
  readonly hashes: string[];
  /** Checkpoints signed in the same transaction (to be published). */
  readonly checkpoints: AuditCheckpointV1[];
}

export interface BatchWriter {
  /** Appends the events, and stores the contents captured with them, in one transaction. */
  write(events: readonly PreparedEvent[], captured?: readonly CapturedInBatch[]): WrittenBatch;
  /** Signs the current head if it is not signed yet. */
  checkpoint(): AuditCheckpointV1 | undefined;
}

export function createBatchWriter(
  database: Database.Database,
  options: { signer?: CheckpointSigner | undefined; checkpointEvery: number },
): BatchWriter {
  const insert = database.prepare(
    `insert into audit_events (seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const head = database.prepare<[], ChainLink>(
    'select seq, hash from audit_events order by seq desc limit 1',
  );
  const lastCheckpoint = database.prepare<[], { seq: number }>(
    'select seq from audit_checkpoints order by seq desc limit 1',
  );
  const anchor = database.prepare<[], { value: string }>(anchorSql('audit_meta'));
  const insertCheckpoint = database.prepare(
    'insert into audit_checkpoints (seq, hash, time, key_id, signature) values (?, ?, ?, ?, ?)',
  );
  const insertCapture = database.prepare(
    `insert into audit_captures as c (hash, content, last_seq) values (?, ?, ?) ${CAPTURE_CONFLICT_SQL}`,
  );
  const { signer } = options;

  const store = (checkpoint: AuditCheckpointV1): AuditCheckpointV1 => {
    insertCheckpoint.run(
      checkpoint.seq,
      checkpoint.hash,
      checkpoint.time,
      checkpoint.keyId,
      checkpoint.signature,
    );
    return checkpoint;
  };

  /** On demand: signs the head if it is not signed yet. */
  const signHead = (): AuditCheckpointV1 | undefined => {
    const checkpoint = headCheckpoint(signer, head.get(), lastCheckpoint.get()?.seq ?? 0);
    return checkpoint === undefined ? undefined : store(checkpoint);
  };

  type Captured = readonly CapturedInBatch[];
  const writeTransaction = database.transaction((events: readonly PreparedEvent[], captured: Captured) => {
    const current = chainHead(head.get(), () => anchor.get()?.value);
    const records = linkBatch(current, events);
    for (const record of records) {
      insert.run(
        record.seq,
        record.prevHash,
        record.hash,
        record.body,
        record.time,
        record.kind,
        record.decisionId,
        record.sessionId,
        record.agentId,
        record.tool,
        record.effect,
      );
    }
    const firstSeq = (current?.seq ?? 0) + 1;
    for (const row of captureRows(captured, firstSeq)) insertCapture.run(row.hash, row.bytes, row.lastSeq);
    // the last signed seq is read only by a log that signs (one query less per batch otherwise)
    const checkpoints =
      signer === undefined
        ? []
        : dueCheckpoints(signer, lastCheckpoint.get()?.seq ?? 0, records, options.checkpointEvery).map(store);
    return { firstSeq, hashes: records.map((record) => record.hash), checkpoints };
  });
  const checkpointTransaction = database.transaction(() => signHead());

  return {
    write: (events, captured = []) => writeTransaction.immediate(events, captured),
    checkpoint: () => checkpointTransaction.immediate(),
  };
}

/**
 * When an append counts as written (docs/decisions/0010-audit-durability.md, 0028-causal-durability.md):
 * - `causal` (default): commits are not fsync'd by SQLite (synchronous=NORMAL); the log fsyncs the
 *   write-ahead log itself (sqlite-wal-sync) before it answers a batch that must be durable, and right
 *   after answering one whose records may be synced later (`syncLater`: call outcomes);
 * - `full`: every commit is fsync'd before its appends resolve; it survives a power cut;
 * - `process`: the commit is in the operating system's page cache (WAL, synchronous=NORMAL); it
 *   survives a crash of the Reins process, but the last commits can be lost if the machine itself
 *   goes down. The chain stays intact either way (WAL rolls back to a whole commit).
 */
export type SqliteDurability = AuditDurability;

/** Connection settings shared by every connection to an audit file. */
export function configureConnection(
  database: Database.Database,
  durability: SqliteDurability = 'causal',
): void {
  database.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before its appends resolve. `causal` syncs the log itself (WalSync).
  database.pragma(durability === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
}
