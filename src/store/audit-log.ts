/**
 * @module store/audit-log
 * The audit log interface every store backend implements (SQLite embedded, PostgreSQL shared).
 * Appends are durable when their promise resolves and fail loudly (reject) when they are not; the
 * harness denies a call whose intent cannot be recorded. One exception, asked for per append
 * (`syncLater`, decision 0028): such an append resolves once committed and visible to every reader, and
 * becomes durable shortly after; `durable(seq)` says when. The same conformance suite
 * (test/conformance/audit-log.conformance.ts) runs against every backend.
 */
import type { VerifyReport } from '../audit/chain.js';
import type { CheckpointKeys, CheckpointSigner } from '../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import type { AuditEventV1, ChainedRecord } from '../spec/audit-event.js';

/**
 * Raw captured state stored apart from the chain, by content hash (sha256 hex of `bytes`). The record
 * it comes with holds only the hash and a redacted view (spec/reversal, RecordedCaptureSchema): the
 * bytes may hold the very secrets redaction keeps out of the log.
 */
export interface CapturedContent {
  /** sha256 of `bytes`, lower-case hex; checked before anything is written. */
  readonly hash: string;
  readonly bytes: Uint8Array;
}

export interface AppendOptions {
  /**
   * Committed in the same transaction as the event, or not at all. The same content (same hash) may be
   * handed over any number of times; it is stored once, and kept as long as the newest record it came
   * with (see `prune`).
   */
  readonly captured?: readonly CapturedContent[];
  /**
   * Resolve once the record is committed and visible to every reader, without waiting for it to reach
   * the disk (decision 0028: a call's outcome). It is made durable by the next durable commit of the
   * log, or within the log's bound, and `durable(seq)` resolves once it is. Backends and modes that make every commit durable before
   * answering (PostgreSQL, SQLite `full`) ignore it; SQLite `process` never fsyncs a commit alone.
   */
  readonly syncLater?: boolean;
}

export interface AppendReceipt {
  readonly seq: number;
  readonly hash: string;
  /** The record's body as stored (the JSON readers parse), when the backend has it at hand. */
  readonly body?: string;
}

/** Filters for `query`; all given filters must hold. */
export interface AuditQuery {
  readonly agentId?: string;
  readonly sessionId?: string;
  /** `server/name`. */
  readonly tool?: string;
  /** An intent's decision effect (allow, deny, approve) or an outcome (ok, error, denied, expired, cancelled, abandoned). */
  readonly effect?: string;
  readonly kind?: AuditEventV1['kind'];
  /**
   * The records of one call (its intent and outcome). Not indexed on its own (appends stay cheap): give
   * it with `sessionId`, whose index narrows the search first.
   */
  readonly decisionId?: string;
  /** ISO 8601, inclusive. */
  readonly from?: string;
  /** ISO 8601, exclusive. */
  readonly to?: string;
  /** Only records after this sequence number (for paging oldest first). */
  readonly afterSeq?: number;
  /** Only records before this sequence number (for paging newest first). */
  readonly beforeSeq?: number;
  /** `desc`: newest first. Default `asc`: sequence order. */
  readonly order?: 'asc' | 'desc';
  /**
   * Most records returned, in `order`. Default 1,000 (also for NaN), at most 10,000 (also for
   * Infinity); rounded down, at least 1 (store/limits).
   */
  readonly limit?: number;
}

export interface AuditRecordView {
  readonly seq: number;
  readonly hash: string;
  readonly event: AuditEventV1;
}

/** The searchable fields of a record, without its body (store/audit-query reads them). */
export interface AuditIndexRow {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  readonly decisionId: string;
  /** `server/name`; empty for records about no tool. */
  readonly tool: string;
  /** An intent's decision effect, an outcome, or an operator action's verb. */
  readonly effect: string;
}

export interface PruneReport {
  /** Records deleted. */
  readonly deleted: number;
  /** Captured contents deleted with them (only when something was pruned). */
  readonly capturedDeleted?: number;
  /** The checkpoint verification now starts from, if anything was pruned. */
  readonly anchor?: AuditCheckpointV1;
}

/** Options every backend accepts. */
export interface AuditLogOptions {
  /**
   * Signs checkpoints with the deployment's key (the pluggable signer; every writer of one log must be
   * given the same key); without one the log is hash-chained but not checkpointed.
   */
  readonly signer?: CheckpointSigner;
  /** Sign a checkpoint at least every this many records. Default 1,000. */
  readonly checkpointEvery?: number;
  /**
   * Told about every checkpoint this log signs, once it is committed (to publish it outside the
   * database: export/checkpoint-publisher). Must not throw.
   */
  readonly onCheckpoint?: (checkpoint: AuditCheckpointV1) => void;
  /** Told about every batch of appends once its transaction has committed or failed (metrics). Must not throw. */
  readonly onCommit?: (commit: AuditCommit) => void;
}

/** One group-committed batch of appends. */
export interface AuditCommit {
  readonly items: number;
  /** From handing the batch to the writer to its answer. */
  readonly seconds: number;
  readonly ok: boolean;
}

/** What `verify` checks the chain against. */
export interface AuditVerifyOptions {
  /** Trusted public key(s) (several during a key rotation); without one, signatures are not checked. */
  readonly publicKey?: CheckpointKeys;
  /** Checkpoints kept outside the database (published copies): compared, and the tail must reach them. */
  readonly extraCheckpoints?: readonly AuditCheckpointV1[];
  /**
   * The cadence checkpoints must appear at (missing_checkpoint otherwise). Default: the cadence this log
   * was opened to sign at, if it signs; a log opened without a signer checks none unless told.
   */
  readonly checkpointEvery?: number;
}

export { DEFAULT_CHECKPOINT_EVERY } from '../spec/audit-checkpoint.js';
export const DEFAULT_QUERY_LIMIT = 1_000;
export const MAX_QUERY_LIMIT = 10_000;

export interface AuditLog {
  /**
   * Appends one event; resolves once it is durable (group-committed with concurrent appends), together
   * with its captured contents (`options.captured`). Rejects with `invalid_input` when a content's hash
   * is not the sha256 of its bytes (nothing of that append is written).
   */
  append(event: AuditEventV1, options?: AppendOptions): Promise<AppendReceipt>;
  /**
   * The raw content captured under `hash`, or undefined when the store does not hold it (never stored,
   * or pruned with the records that used it). Rejects when the stored bytes no longer match the hash
   * (altered in the store). Only the rollback path reads captured content: it is kept apart from the
   * chain, by hash, for an exact restore, and is never shown through the API, the console or exports.
   */
  readCaptured(hash: string): Promise<Uint8Array | undefined>;
  /** Records in sequence order, starting after `afterSeq` (default: from the first kept record). */
  records(options?: { afterSeq?: number }): AsyncIterable<ChainedRecord>;
  /** Records matching the filters, in sequence order (or newest first: `order: 'desc'`). */
  query(query: AuditQuery): Promise<AuditRecordView[]>;
  /**
   * The searchable fields of the records `query` selects, in the same order and up to the same limit,
   * without reading or parsing their bodies: for aggregates that need no more (the console's dashboard).
   */
  queryIndex(query: AuditQuery): Promise<AuditIndexRow[]>;
  /** Signed checkpoints, in sequence order. */
  checkpoints(): Promise<AuditCheckpointV1[]>;
  /** Signs the current head now (also done every `checkpointEvery` records and on close). */
  checkpoint(): Promise<AuditCheckpointV1 | undefined>;
  /**
   * Retention: deletes the records up to the newest checkpoint signed before `before`, which stays as
   * the anchor verification starts from. Records after the last such checkpoint are never deleted.
   * Captured contents go with the records they came with: a content is deleted once every record it was
   * appended with is (store/retention explains how).
   */
  prune(before: Date): Promise<PruneReport>;
  /** Walks the whole chain against its checkpoints; pass the public key to check their signatures. */
  verify(options?: AuditVerifyOptions): Promise<VerifyReport>;
  /** Flushes pending appends, signs a final checkpoint and releases the store. */
  close(): Promise<void>;
  /** Appends handed in and not yet committed (or failed): the depth of the write queue. */
  pendingAppends?(): number;
  /**
   * Resolves once record `seq`, and every record before it, is as durable as the log's mode makes an
   * append that does not ask for `syncLater` (whichever process wrote it). Only a log that may answer
   * an append before it is durable has it: for the others every committed record already is.
   * Rejects when the log cannot make it durable (the caller must not act on the record then).
   */
  durable?(seq: number): Promise<void>;
  /**
   * Resolves if a write could be committed now: takes the store's write lock (SQLite: an immediate
   * transaction; PostgreSQL: a read-write transaction holding the append lock) and rolls back, waiting
   * at most `timeoutMs` for it. Rejects with why not (locked, read-only, unreachable), and without
   * touching the store if the log itself refuses appends for good (closed; SQLite: its writer thread
   * failed or exited). Readiness.
   */
  probeWritable?(timeoutMs: number): Promise<void>;
}
