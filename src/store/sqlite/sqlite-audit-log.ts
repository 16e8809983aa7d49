/**
 * @module store/sqlite/sqlite-audit-log
 * The embedded audit log: one SQLite file (WAL), hash-chained records, signed checkpoints, group
 * commit. For a file, writes run in a worker thread (see sqlite-audit-worker) and reads on this thread;
 * an in-memory log (`:memory:`, tests) writes inline. Appends resolve only once their batch is committed,
 * with the contents captured with them (`audit_captures`, same transaction), and durable as the mode
 * says (sqlite-audit-writer: `causal`, `full`, `process`); with `causal`, an append that asks for
 * `syncLater` resolves once committed, and `durable(seq)` tells when it has reached the disk.
 */

import type { KeyObject } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type VerifyReport, verifyChain } from '../../audit/chain.js';
import { type CheckpointSigner, checkpointKeyList } from '../../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import type { AuditEventV1, ChainedRecord } from '../../spec/audit-event.js';
import { describeError, ReinsError } from '../../spec/errors.js';
import type {
  AppendOptions,
  AppendReceipt,
  AuditIndexRow,
  AuditLog,
  AuditLogOptions,
  AuditQuery,
  AuditRecordView,
  AuditVerifyOptions,
  PruneReport,
} from '../audit-log.js';
import { auditQueryStatement, indexColumns, toIndexRow, toRecordView } from '../audit-query.js';
import {
  anchorSql,
  auditWriteFailed,
  type CheckpointRowFields,
  chainVerifyOptions,
  checkpointCadence,
  type EventRowFields,
  pagedRecords,
  parseAnchor,
  prepareForAppend,
  recordPageSql,
  toCheckpoint,
} from '../audit-records.js';
import {
  type AppendItem,
  capturedReadSql,
  capturesOf,
  checkedCaptures,
  checkedRead,
  notAHash,
  withCaptures,
} from '../captured-content.js';
import { GroupCommitQueue } from '../group-commit.js';
import { auditPruneSql } from '../retention.js';
import { logRefusesWrites, notWritable, probeWaitMs } from '../write-probe.js';
import type { WorkerRequest, WorkerResponse, WorkerSetup } from './sqlite-audit-worker.js';
import { createBatchWriter, flattenEvents, type SqliteDurability } from './sqlite-audit-writer.js';
import {
  checkSqliteSchema,
  openSqliteStore,
  SQLITE_AUDIT_TABLES,
  SQLITE_CAPTURES_VERSION,
  SQLITE_PLACEHOLDER,
} from './sqlite-migrations.js';
import type { VerifyWorkerSetup } from './sqlite-verify-worker.js';
import { WalSync } from './sqlite-wal-sync.js';
import { startWorker } from './start-worker.js';

export interface SqliteAuditLogOptions extends AuditLogOptions {
  /** File path, or `:memory:`. Parent directories are created. */
  readonly path: string;
  /** Most events per transaction. */
  readonly maxBatch?: number;
  /** Batches handed to the writer thread before the first is committed (file logs only). */
  readonly maxInFlight?: number;
  /** Open an existing log for reading and verifying only: nothing is created, migrated or written. */
  readonly readOnly?: boolean;
  /** Logs with at least this many records are verified by two threads (split at a checkpoint). */
  readonly parallelVerifyMin?: number;
  /**
   * File logs: a batch of at most this many events is written on the calling thread when the writer
   * thread has nothing in flight (0 = always the writer thread). Default: 1 with `process`
   * durability, 0 with `full`. See writeBatch.
   */
  readonly inlineMaxBatch?: number;
  /**
   * `causal` (default): appends resolve once fsync'd, except those that ask for `syncLater`, which
   * resolve once committed and reach the disk with the next durable commit of the file, or within
   * `syncWithinMs` (docs/decisions/0028-causal-durability.md).
   * `full`: every commit is fsync'd before its appends resolve. `process`: commits reach the
   * operating system but are not fsync'd one by one (survives a crash of this process, not a power
   * cut); see docs/decisions/0010-audit-durability.md.
   */
  readonly durability?: SqliteDurability;
  /**
   * `causal`: the most ms a `syncLater` commit waits for its fsync when no durable commit of the file
   * covers it first (default 20, at most 50; 0: an fsync is started as soon as it is answered).
   */
  readonly syncWithinMs?: number;
}

// A worker commits batches in the order it receives them, so a few can be in flight at once: the
// pipeline works on the results of one batch while the next is on its way to disk. Batches of 64 with
// 4 in flight measured best on 2 cores (BENCHMARKS.md); one flush still covers many calls.
const DEFAULT_MAX_BATCH = 64;
const DEFAULT_MAX_IN_FLIGHT = 4;
/**
 * Without an fsync per commit (`process` and `causal` durability) a lone event is written on the main
 * thread: the hop to the writer thread and back costs more than the insert itself (bench/audit-append.ts:
 * 130-440 µs per call); `causal` then fsyncs in the thread pool (WalSync), which holds no event loop.
 * With `full` durability an inline commit holds the event loop for an fsync, and A/B runs on a shared
 * disk disagreed (decision 0010), so the writer thread stays the default there. Larger batches always
 * go to the writer thread, which keeps the event loop free meanwhile.
 */
const DEFAULT_INLINE_MAX_BATCH: Record<SqliteDurability, number> = { causal: 1, full: 0, process: 1 };
/**
 * How long a `syncLater` record (a call's outcome) may stay short of the disk (decision 0028). The
 * next durable commit of the file (the session's next intent, usually) covers it before that; the
 * timer is for the last outcome before a pause. Waiting a little is what lets the next intent's fsync
 * serve both: an fsync of the outcome begun at once would still be under way when the next intent
 * asks for its own, which must then wait for a second one.
 */
const DEFAULT_SYNC_WITHIN_MS = 20;
const MAX_SYNC_WITHIN_MS = 50;
/** Below this many records a second thread costs more to start than it saves. */
const PARALLEL_VERIFY_MIN = 100_000;
/** Records added to the lookup table in one synchronous step of its catch-up. */
const LOOKUP_CATCH_UP_ROWS = 10_000;

/** The checkpoint closest to the middle of [first, head], if one lies strictly inside. */
function middleCheckpoint(
  checkpoints: readonly AuditCheckpointV1[],
  first: number,
  head: number,
): AuditCheckpointV1 | undefined {
  const middle = (first + head) / 2;
  let best: AuditCheckpointV1 | undefined;
  for (const checkpoint of checkpoints) {
    if (checkpoint.seq <= first || checkpoint.seq >= head) continue;
    if (best === undefined || Math.abs(checkpoint.seq - middle) < Math.abs(best.seq - middle))
      best = checkpoint;
  }
  return best;
}

/** What actually writes: inline (in-memory logs), in the worker thread (files), or nothing (read-only). */
interface Written {
  readonly receipts: AppendReceipt[];
  /** Checkpoints signed with the batch. */
  readonly checkpoints: readonly AuditCheckpointV1[];
}

interface Writer {
  write(events: readonly AppendItem[]): Promise<Written> | Written;
  checkpoint(): Promise<AuditCheckpointV1 | undefined> | AuditCheckpointV1 | undefined;
  close(): Promise<void>;
}

export class SqliteAuditLog implements AuditLog {
  private readonly database: Database.Database;
  private readonly writer: Writer;
  /** File logs: writes small batches on this thread's connection while the writer thread is idle. */
  private readonly inline: Writer | undefined;
  private readonly inlineMaxBatch: number;
  private recordPage: Database.Statement<[number, number], EventRowFields> | undefined;
  private dataVersion: Database.Statement<[], number> | undefined;
  /**
   * The log as this connection last saw it whole: every record through `head` was read or written
   * here, and `version` is the file's `data_version` from before that read. While the version stays
   * the same no other connection (thread or process) committed since, so a read after `head` has
   * nothing to return and skips the query: the session states read the tail before every decision.
   */
  private seen: { head: number; version: number } | undefined;
  /** Batches committed on this connection: a read during which one was committed saw nothing whole. */
  private writtenHere = 0;
  /** `causal` file logs: fsyncs the WAL, and knows how far the log is durable. */
  private readonly syncs: WalSync | undefined;
  private readonly syncWithinMs: number;
  /** Commits answered before their fsync that no sync has been asked for yet (syncWithinMs). */
  private syncScheduled = false;
  private readonly queue: GroupCommitQueue<AppendItem, AppendReceipt>;
  private readonly readOnly: boolean;
  private readonly path: string;
  private readonly parallelVerifyMin: number;
  private readonly onCheckpoint: ((checkpoint: AuditCheckpointV1) => void) | undefined;
  /** Verification's default cadence: the one this log signs at, when it signs. */
  private readonly signsEvery: number | undefined;

  constructor(options: SqliteAuditLogOptions) {
    this.path = options.path;
    this.onCheckpoint = options.onCheckpoint;
    this.parallelVerifyMin = options.parallelVerifyMin ?? PARALLEL_VERIFY_MIN;
    const inMemory = options.path === ':memory:';
    this.readOnly = options.readOnly === true;
    const durability = options.durability ?? 'causal';
    const syncWithinMs = options.syncWithinMs ?? DEFAULT_SYNC_WITHIN_MS;
    if (!(syncWithinMs >= 0 && syncWithinMs <= MAX_SYNC_WITHIN_MS))
      throw new RangeError(
        `syncWithinMs must be between 0 and ${MAX_SYNC_WITHIN_MS}, got \`${syncWithinMs}\``,
      );
    this.syncWithinMs = syncWithinMs;
    this.database = this.readOnly
      ? openReadOnly(options.path)
      : openSqliteStore(options.path, 'audit log', 'audit_unavailable', durability);
    // only a file answers appends before they are durable (`:memory:` never is)
    if (!this.readOnly && !inMemory && durability === 'causal') {
      const head = this.database.prepare<[], { seq: number | null }>(
        'select max(seq) as seq from audit_events',
      );
      // SQLite names the WAL after the database's real path (symlinks resolved)
      this.syncs = new WalSync(`${realpathSync(options.path)}-wal`, () => head.get()?.seq ?? 0);
    }
    const checkpointEvery = checkpointCadence(options);
    this.signsEvery = options.signer ? checkpointEvery : undefined;
    if (this.readOnly) this.writer = readOnlyWriter(options.path);
    else if (inMemory) this.writer = inlineWriter(this.database, options.signer, checkpointEvery);
    else this.writer = new WorkerWriter({ path: options.path, checkpointEvery, durability }, options.signer);
    this.inlineMaxBatch = options.inlineMaxBatch ?? DEFAULT_INLINE_MAX_BATCH[durability];
    // Both connections link to the head read inside their own immediate transaction (as several
    // processes do), so the chain stays one whichever writes a batch.
    this.inline =
      this.writer instanceof WorkerWriter && this.inlineMaxBatch > 0
        ? inlineWriter(this.database, options.signer, checkpointEvery)
        : undefined;
    const syncs = this.syncs;
    if (syncs !== undefined) this.durable = (seq) => syncs.durable(seq);
    this.queue = new GroupCommitQueue((events) => this.writeBatch(events), {
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: inMemory ? 1 : (options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
      ...(options.onCommit ? { onBatch: options.onCommit } : {}),
    });
  }

  pendingAppends(): number {
    return this.queue.pending;
  }

  /**
   * An immediate transaction (the write lock every writer takes) on a connection of its own, so that
   * it waits like another process would, at most `probeWaitMs`; it rewrites the schema version to the
   * same value, which a read-only file refuses, and rolls back.
   */
  async probeWritable(timeoutMs: number): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== undefined) throw refusal;
    const inMemory = this.path === ':memory:';
    let probe: Database.Database | undefined;
    try {
      probe = inMemory
        ? this.database
        : new Database(this.path, { fileMustExist: true, timeout: probeWaitMs(timeoutMs) });
      probe.exec('BEGIN IMMEDIATE');
      try {
        const version = probe.pragma('user_version', { simple: true }) as number;
        probe.pragma(`user_version = ${version}`);
      } finally {
        probe.exec('ROLLBACK');
      }
    } catch (error) {
      throw notWritable(error);
    } finally {
      if (!inMemory) probe?.close();
    }
  }

  /**
   * Why this log refuses every append whatever the file could take: the probe's fresh connection would
   * succeed on a log whose writer thread died (every append then fails, for the life of the process).
   */
  private refusal(): ReinsError | undefined {
    if (this.readOnly) return logRefusesWrites('read_only', 'it was opened read-only');
    if (this.queue.isClosed) return logRefusesWrites('closed', 'it is closed');
    const failure =
      (this.writer instanceof WorkerWriter ? this.writer.failure : undefined) ?? this.syncs?.failure;
    if (failure !== undefined) return logRefusesWrites('writer_failed', describeError(failure));
    return undefined;
  }

  append(event: AuditEventV1, options: AppendOptions = {}): Promise<AppendReceipt> {
    let item: AppendItem;
    try {
      item = withCaptures(prepareForAppend(event), checkedCaptures(options.captured));
      if (options.syncLater === true && this.syncs !== undefined) item = { ...item, syncLater: true };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.queue.enqueue(item);
  }

  /**
   * `causal` file logs: every record up to this seq is known fsync'd (by this process's syncs, which
   * cover what any process committed before them). Undefined for the other logs, whose committed
   * records are all as durable as their mode makes them.
   */
  get durableThrough(): number | undefined {
    return this.syncs?.through;
  }

  /**
   * `causal` file logs only (the others answer no append before it is as durable as their mode makes
   * it): resolves once record `seq` and every record before it, whichever process wrote them, are
   * fsync'd; rejects when the log cannot sync, or does not hold that record.
   */
  readonly durable?: (seq: number) => Promise<void>;

  /** Only the rollback path reads captured content (see AuditLog.readCaptured). */
  async readCaptured(hash: string): Promise<Uint8Array | undefined> {
    if (notAHash(hash)) return undefined;
    // a read-only handle may open a file from before captures existed: it holds none
    if (
      this.readOnly &&
      (this.database.pragma('user_version', { simple: true }) as number) < SQLITE_CAPTURES_VERSION
    )
      return undefined;
    const row = this.database
      .prepare<[string], { content: Buffer }>(
        capturedReadSql(SQLITE_AUDIT_TABLES.captures, SQLITE_PLACEHOLDER),
      )
      .get(hash);
    return checkedRead(hash, row?.content);
  }

  async *records(options: { afterSeq?: number } = {}): AsyncIterable<ChainedRecord> {
    // prepared once: the session state reads the log's tail before decisions (harness/session-states)
    this.recordPage ??= this.database.prepare<[number, number], EventRowFields>(
      recordPageSql(SQLITE_AUDIT_TABLES.events, SQLITE_PLACEHOLDER),
    );
    this.dataVersion ??= this.database.prepare<[], number>('pragma data_version').pluck();
    const page = this.recordPage;
    const afterSeq = options.afterSeq ?? 0;
    // read before the records: a commit between the two makes the next read query again
    const version = this.dataVersion.get() as number;
    const seen = this.seen;
    if (seen !== undefined && seen.version === version && afterSeq >= seen.head) return;
    const writes = this.writtenHere;
    let head = afterSeq;
    yield* pagedRecords(afterSeq, (after, size) => {
      const rows = page.all(after, size);
      head = Number(rows.at(-1)?.seq ?? head);
      return rows;
    });
    // Only a read to the end (the caller did not stop early) saw everything through `head`; a batch
    // committed here meanwhile may lie before or after it, so the next read queries.
    this.seen = this.writtenHere === writes ? { head, version } : undefined;
  }

  async query(query: AuditQuery): Promise<AuditRecordView[]> {
    await this.queue.drain();
    if (!this.readOnly) await this.catchUpLookup();
    // Read-only handles cannot maintain the lookup table: they scan the (chain-covered) columns instead.
    const table = this.readOnly ? 'audit_events' : 'audit_lookup';
    const statement = auditQueryStatement(
      query,
      {
        columns: 'e.seq, e.hash, e.body',
        from: `${table} l join audit_events e on e.seq = l.seq`,
        alias: 'l.',
        recordAlias: 'e.',
      },
      SQLITE_PLACEHOLDER,
    );
    return this.database
      .prepare<(string | number)[], { seq: number; hash: string; body: string }>(statement.text)
      .all(...statement.values)
      .map(toRecordView);
  }

  async queryIndex(query: AuditQuery): Promise<AuditIndexRow[]> {
    await this.queue.drain();
    if (!this.readOnly) await this.catchUpLookup();
    const table = this.readOnly ? 'audit_events' : 'audit_lookup';
    // the lookup table has no decision id: it comes from the records (joined by key, bodies unread)
    const statement = auditQueryStatement(
      query,
      {
        columns: indexColumns('l.', 'e.'),
        from: `${table} l join audit_events e on e.seq = l.seq`,
        alias: 'l.',
        recordAlias: 'e.',
      },
      SQLITE_PLACEHOLDER,
    );
    return this.database
      .prepare<(string | number)[], AuditIndexRow>(statement.text)
      .all(...statement.values)
      .map(toIndexRow);
  }

  async checkpoints(): Promise<AuditCheckpointV1[]> {
    await this.queue.drain();
    return this.database
      .prepare<[], CheckpointRowFields>('select * from audit_checkpoints order by seq')
      .all()
      .map(toCheckpoint);
  }

  async checkpoint(): Promise<AuditCheckpointV1 | undefined> {
    await this.queue.drain();
    const checkpoint = await this.writer.checkpoint();
    // published once durable (a checkpoint does not move the head: the sync must not be skipped)
    if (checkpoint) await this.syncs?.sync({ force: true });
    if (checkpoint) this.onCheckpoint?.(checkpoint);
    return checkpoint;
  }

  async prune(before: Date): Promise<PruneReport> {
    if (this.readOnly) throw new ReinsError('audit_unavailable', 'the audit log was opened read-only');
    await this.queue.drain();
    const cutoff = before.toISOString();
    const sql = auditPruneSql(SQLITE_AUDIT_TABLES, SQLITE_PLACEHOLDER);
    const prune = this.database.transaction((): PruneReport => {
      const row = this.database.prepare<[string], CheckpointRowFields>(sql.anchorBefore).get(cutoff);
      if (row === undefined) return { deleted: 0 };
      const anchor = toCheckpoint(row);
      const deleted = this.database.prepare(sql.deleteRecordsThrough).run(anchor.seq).changes;
      // the query index goes with the records it indexes, and so does what only they captured
      this.database.prepare('delete from audit_lookup where seq <= ?').run(anchor.seq);
      const capturedDeleted = this.database.prepare(sql.deleteCapturesThrough).run(anchor.seq).changes;
      this.database.prepare(sql.deleteCheckpointsBefore).run(anchor.seq);
      this.database.prepare(sql.keepAnchor).run(JSON.stringify(anchor));
      return { deleted, capturedDeleted, anchor };
    });
    return prune.immediate();
  }

  async verify(options: AuditVerifyOptions = {}): Promise<VerifyReport> {
    const checkpointEvery = options.checkpointEvery ?? this.signsEvery;
    await this.queue.drain();
    const read = this.database.transaction(() => ({
      anchor: this.anchor(),
      checkpoints: this.database
        .prepare<[], CheckpointRowFields>('select * from audit_checkpoints order by seq')
        .all()
        .map(toCheckpoint),
      head:
        this.database.prepare<[], { seq: number | null }>('select max(seq) as seq from audit_events').get()
          ?.seq ?? 0,
    }));
    const state = read();
    const { anchor, checkpoints } = state;
    // a log pruned to its anchor holds no records after it: its head is the anchor
    const head = Math.max(state.head, anchor?.seq ?? 0);
    const hidden = this.lookupMismatch(anchor?.seq ?? 0, head);
    if (hidden !== undefined) return hidden;
    const all = [...checkpoints, ...(options.extraCheckpoints ?? [])];
    const first = anchor ? anchor.seq + 1 : 1;
    const split =
      this.path === ':memory:' || head - first < this.parallelVerifyMin
        ? undefined
        : middleCheckpoint(checkpoints, first, head);
    const upTo = split?.seq ?? Number.MAX_SAFE_INTEGER;
    // the part after the split is verified by a worker thread meanwhile (a second core)
    const second =
      split &&
      this.verifyAfter(split, {
        checkpoints: all.filter((checkpoint) => checkpoint.seq > split.seq),
        publicKeys: checkpointKeyList(options.publicKey),
        ...(checkpointEvery ? { checkpointEvery } : {}),
      });
    const records = this.database
      .prepare<[number], ChainedRecord>(
        // columns aliased to ChainedRecord's names: rows are records as they come, no copy per row
        `select seq, prev_hash as prevHash, hash, body, time, kind, decision_id as decisionId, session_id as sessionId,
                agent_id as agentId, tool, effect from audit_events where seq <= ? order by seq`,
      )
      .iterate(upTo);
    const firstReport = await verifyChain(
      records,
      chainVerifyOptions(
        all.filter((checkpoint) => checkpoint.seq <= upTo),
        { publicKey: options.publicKey, checkpointEvery },
        anchor,
      ),
    );
    if (second === undefined) return firstReport;
    const secondReport = await second;
    if (!firstReport.ok) return firstReport;
    const { anchoredAt: _split, ...rest } = secondReport;
    const combined: VerifyReport = {
      ...rest,
      checked: firstReport.checked + secondReport.checked,
      // the split checkpoint was counted by both halves
      checkpointsVerified: firstReport.checkpointsVerified + secondReport.checkpointsVerified - 1,
    };
    return anchor ? { ...combined, anchoredAt: anchor.seq } : combined;
  }

  /**
   * The query index (`audit_lookup`) is derived from the log but not covered by the chain, and every
   * query of the API, the console and the CLI filters through it: a row deleted or edited there hides
   * a record from humans (or files it under another agent) while the chain is intact. It must list
   * exactly the chained columns of every record it claims to have indexed, and claim no more than the
   * log holds (a raised `last_seq` would leave the records after it unindexed, hence hidden).
   */
  private lookupMismatch(afterSeq: number, head: number): VerifyReport | undefined {
    const indexedUpTo =
      this.database
        .prepare<[], { last_seq: number }>('select last_seq from audit_lookup_state where id = 1')
        .get()?.last_seq ?? 0;
    const bad = this.database
      .prepare<[number, number], { seq: number }>(
        `select e.seq as seq from audit_events e left join audit_lookup l on l.seq = e.seq
          where e.seq > ? and e.seq <= ? and (l.seq is null or l.time is not e.time or l.kind is not e.kind
            or l.session_id is not e.session_id or l.agent_id is not e.agent_id or l.tool is not e.tool
            or l.effect is not e.effect)
         union all
         select l.seq as seq from audit_lookup l left join audit_events e on e.seq = l.seq where e.seq is null
         order by 1 limit 1`,
      )
      .get(afterSeq, Math.min(indexedUpTo, head));
    const seq = bad?.seq ?? (indexedUpTo > head ? indexedUpTo : undefined);
    if (seq === undefined) return undefined;
    return {
      ok: false,
      checked: 0,
      lastSeq: afterSeq,
      lastHash: '',
      checkpointsVerified: 0,
      signaturesChecked: false,
      firstBad: {
        seq,
        problem: 'index_mismatch',
        message: `record ${seq} differs in the query index (audit_lookup) that the API, console and CLI search, or is missing from it: the index was edited, and queries would not show what the chain holds`,
      },
    };
  }

  /** Verifies the records after `from` in a worker thread. */
  private verifyAfter(
    from: AuditCheckpointV1,
    options: { checkpoints: AuditCheckpointV1[]; publicKeys: readonly KeyObject[]; checkpointEvery?: number },
  ): Promise<VerifyReport> {
    const setup: VerifyWorkerSetup = {
      path: this.path,
      from,
      checkpoints: options.checkpoints,
      publicKeyPems: options.publicKeys.map((key) => key.export({ format: 'pem', type: 'spki' }).toString()),
      ...(options.checkpointEvery ? { checkpointEvery: options.checkpointEvery } : {}),
    };
    return new Promise((resolve, reject) => {
      const worker = startWorker('sqlite-verify-worker', setup);
      worker.once('message', (message: { ok: true; report: VerifyReport } | { ok: false; error: string }) => {
        if (message.ok) resolve(message.report);
        else reject(new ReinsError('audit_unavailable', `verification failed: ${message.error}`));
      });
      worker.once('error', (error) =>
        reject(new ReinsError('audit_unavailable', `verification failed: ${describeError(error)}`)),
      );
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
    try {
      const checkpoint = this.readOnly ? undefined : await this.finalCheckpoint();
      if (checkpoint) this.onCheckpoint?.(checkpoint);
    } finally {
      this.syncs?.close();
      await this.writer.close();
      if (this.database.open) this.database.close();
    }
  }

  /**
   * Signs the head one last time; then what was answered before its fsync, and that checkpoint, reach
   * the disk — also when signing failed (the outcomes must not be left behind).
   */
  private async finalCheckpoint(): Promise<AuditCheckpointV1 | undefined> {
    try {
      return await this.writer.checkpoint();
    } finally {
      await this.syncs?.sync({ force: true });
    }
  }

  private anchor(): AuditCheckpointV1 | undefined {
    const row = this.database.prepare<[], { value: string }>(anchorSql('audit_meta')).get();
    return parseAnchor(row?.value);
  }

  /**
   * Brings the lookup table up to the records, LOOKUP_CATCH_UP_ROWS at a time with the event loop let
   * go between two (a log nobody queried for a day may have that many to add: one synchronous insert of
   * them all would stall the process serving calls). Each step is its own transaction reading where the
   * table stands, so steps of concurrent callers only repeat each other's work.
   */
  private async catchUpLookup(): Promise<void> {
    while (!this.catchUpLookupStep()) await new Promise((resolve) => setImmediate(resolve));
  }

  /** One step of catchUpLookup; true when the table is up to date. */
  private catchUpLookupStep(): boolean {
    return this.database
      .transaction((): boolean => {
        const state = this.database
          .prepare<[], { last_seq: number }>('select last_seq from audit_lookup_state where id = 1')
          .get();
        const last = state?.last_seq ?? 0;
        // from the next record there is (a pruned log starts far above where the table stands)
        const next =
          this.database
            .prepare<[number], { next: number | null }>(
              'select min(seq) as next from audit_events where seq > ?',
            )
            .get(last)?.next ?? last + 1;
        const through = next - 1 + LOOKUP_CATCH_UP_ROWS;
        this.database
          .prepare(
            `insert or replace into audit_lookup (seq, time, kind, session_id, agent_id, tool, effect)
             select seq, time, kind, session_id, agent_id, tool, effect from audit_events where seq > ? and seq <= ?`,
          )
          .run(last, through);
        const head =
          this.database
            .prepare<[], { head: number | null }>('select max(seq) as head from audit_events')
            .get()?.head ?? last;
        this.database
          .prepare('update audit_lookup_state set last_seq = ? where id = 1')
          .run(Math.max(last, Math.min(head, through)));
        return head <= through;
      })
      .immediate();
  }

  private async writeBatch(events: readonly AppendItem[]): Promise<AppendReceipt[]> {
    let written: Written;
    const syncs = this.syncs;
    try {
      if (syncs?.failure !== undefined) throw syncs.failure;
      // Inline only when nothing is in flight in the writer thread: batches are then still committed
      // in the order they were handed over (the inline write is finished when it returns).
      if (
        this.inline !== undefined &&
        events.length <= this.inlineMaxBatch &&
        (this.writer as WorkerWriter).idle
      ) {
        written = this.inline.write(events) as Written;
        this.wroteHere(written);
      } else {
        const writing = this.writer.write(events);
        // an in-memory log commits inside write(): taken as seen before anything else can read
        if (!(writing instanceof Promise)) this.wroteHere(writing);
        written = await writing;
      }
      // `causal`: durable before it is answered, unless all of it may be synced later; a signed
      // checkpoint is published once answered, so what it names must not be lost to a power cut
      if (syncs !== undefined) {
        const later = events.every((event) => event.syncLater === true) && written.checkpoints.length === 0;
        if (later) this.syncSoon(syncs);
        else await syncs.sync();
      }
    } catch (error) {
      throw auditWriteFailed(error);
    }
    for (const checkpoint of written.checkpoints) this.onCheckpoint?.(checkpoint);
    return written.receipts;
  }

  /**
   * A batch committed on this connection (which leaves its `data_version` as it was): right after the
   * head this connection saw whole, it extends what it has seen; after anything else (another writer
   * committed in between, or a read that ended before the real head: a pruned log reads nothing
   * after 0 while its chain goes on from its anchor) it proves nothing, and the next read queries.
   */
  private wroteHere(written: Written): void {
    this.writtenHere += 1;
    const first = written.receipts[0]?.seq;
    const last = written.receipts.at(-1)?.seq;
    const seen = this.seen;
    this.seen =
      seen !== undefined && first !== undefined && last !== undefined && first === seen.head + 1
        ? { head: last, version: seen.version }
        : undefined;
  }

  /**
   * Makes sure a batch answered before its fsync is synced within `syncWithinMs` (a durable commit
   * meanwhile leaves the timer nothing to do). A failed fsync is kept by the WalSync: every later
   * append and wait is refused (fail closed).
   */
  private syncSoon(syncs: WalSync): void {
    if (this.syncWithinMs === 0) {
      syncs.sync().catch(() => {});
      return;
    }
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    setTimeout(() => {
      this.syncScheduled = false;
      syncs.sync().catch(() => {});
    }, this.syncWithinMs).unref(); // an exit loses nothing the operating system holds
  }
}

function openReadOnly(path: string): Database.Database {
  try {
    const database = new Database(path, { readonly: true, fileMustExist: true });
    checkSqliteSchema(database);
    return database;
  } catch (error) {
    if (error instanceof ReinsError) throw error;
    throw new ReinsError('audit_unavailable', `cannot open audit log \`${path}\`: ${describeError(error)}`);
  }
}

function readOnlyWriter(path: string): Writer {
  const refuse = () => {
    throw new Error(`audit log \`${path}\` was opened read-only`);
  };
  return { write: refuse, checkpoint: refuse, close: async () => {} };
}

function inlineWriter(
  database: Database.Database,
  signer: CheckpointSigner | undefined,
  checkpointEvery: number,
): Writer {
  const writer = createBatchWriter(database, { signer, checkpointEvery });
  return {
    write: (events) => {
      const written = writer.write(events, capturesOf(events));
      return {
        receipts: receiptsOf(events, written.firstSeq, written.hashes),
        checkpoints: written.checkpoints,
      };
    },
    checkpoint: () => writer.checkpoint(),
    close: async () => {},
  };
}

/**
 * Sends requests to the writer thread and settles them with its answers. A worker that fails or exits
 * fails every pending and later write (fail closed: the harness then refuses calls).
 */
class WorkerWriter implements Writer {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve(response: WorkerResponse): void; reject(error: Error): void }
  >();
  private nextId = 1;
  private failed: Error | undefined;

  /** Why every write fails from now on (the thread failed or exited, or the writer was closed). */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Nothing in flight and not failed: another writer may commit now without overtaking a batch. */
  get idle(): boolean {
    return this.pending.size === 0 && this.failed === undefined;
  }

  constructor(setup: Omit<WorkerSetup, 'signingKeyPem'>, signer: CheckpointSigner | undefined) {
    this.worker = startWorker('sqlite-audit-worker', {
      ...setup,
      ...(signer ? { signingKeyPem: signer.exportPrivateKeyPem() } : {}),
    } satisfies WorkerSetup);
    this.worker.unref(); // referenced only while requests are in flight (see send)
    this.worker.on('message', (response: WorkerResponse) => this.settle(response));
    this.worker.on('error', (error) => this.fail(new Error(`audit writer failed: ${describeError(error)}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`audit writer exited (code ${code})`)));
  }

  async write(events: readonly AppendItem[]): Promise<Written> {
    const captured = capturesOf(events);
    const response = await this.send({
      id: this.nextId++,
      fields: flattenEvents(events),
      ...(captured.length > 0 ? { captured } : {}),
    });
    if (!response.ok || !('hashes' in response)) throw new Error('unexpected answer from the audit writer');
    return {
      receipts: receiptsOf(events, response.firstSeq, response.hashes),
      checkpoints: response.checkpoints,
    };
  }

  async checkpoint(): Promise<AuditCheckpointV1 | undefined> {
    const response = await this.send({ id: this.nextId++, checkpoint: true });
    if (!response.ok || !('checkpoint' in response))
      throw new Error('unexpected answer from the audit writer');
    return response.checkpoint ?? undefined;
  }

  async close(): Promise<void> {
    if (this.failed) return;
    await this.send({ id: this.nextId++, close: true });
    this.failed = new Error('the audit log is closed');
  }

  private send(request: WorkerRequest): Promise<WorkerResponse> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      // keep the process alive until every request in flight is answered
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  private settle(response: WorkerResponse): void {
    const waiter = this.pending.get(response.id);
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker.unref();
    if (waiter === undefined) return;
    if (response.ok) waiter.resolve(response);
    else waiter.reject(new Error(response.error));
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** One receipt per event, with the body as stored: the harness applies its own records from it. */
function receiptsOf(
  events: readonly AppendItem[],
  firstSeq: number,
  hashes: readonly string[],
): AppendReceipt[] {
  return hashes.map((hash, index) => ({
    seq: firstSeq + index,
    hash,
    body: (events[index] as AppendItem).body,
  }));
}
