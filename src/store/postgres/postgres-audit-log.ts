/**
 * @module store/postgres/postgres-audit-log
 * The shared audit log: one PostgreSQL schema that any number of Reins processes append to at once.
 * Every process group-commits its appends (one transaction per batch, one batch in flight); the
 * batches of all processes are serialised by an advisory lock and each links to the head committed
 * before it (see postgres-audit-writer), so together they form one gap-free hash chain. Appends resolve
 * only once their batch is committed, with the contents captured with them (same transaction). Same
 * tables, semantics and conformance suite as the SQLite store.
 */
import type { Pool, PoolClient, QueryArrayResult } from 'pg';
import { type VerifyReport, verifyChain } from '../../audit/chain.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import type { AuditEventV1, ChainedRecord, PreparedEvent } from '../../spec/audit-event.js';
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
  RECORD_PAGE_SIZE,
  recordPageSql,
  toCheckpoint,
} from '../audit-records.js';
import {
  type AppendItem,
  capturedReadSql,
  checkedCaptures,
  checkedRead,
  notAHash,
  withCaptures,
} from '../captured-content.js';
import { GroupCommitQueue } from '../group-commit.js';
import { auditPruneSql } from '../retention.js';
import { logRefusesWrites, notWritable, probeWaitMs } from '../write-probe.js';
import {
  createPostgresBatchWriter,
  type PostgresBatchWriter,
  type PostgresTables,
  type PostgresWrittenBatch,
  tablesOf,
} from './postgres-audit-writer.js';
import { createPool, DEFAULT_CONNECT_TIMEOUT_MS } from './postgres-connections.js';
import {
  advisoryLockKey,
  applyPostgresMigrations,
  describeTarget,
  POSTGRES_PLACEHOLDER,
  quoteIdentifier,
} from './postgres-migrations.js';

export interface PostgresAuditLogOptions extends AuditLogOptions {
  /** `postgres://user:password@host:port/database`; the other settings of `pg` apply (PG* variables). */
  readonly connectionString: string;
  /** The schema holding the log's tables; created if missing. Default `public`. */
  readonly schema?: string;
  /** Most events per transaction. Default 512. */
  readonly maxBatch?: number;
  /** Connections for reads (queries, verification). Appends use one connection of their own. Default 4. */
  readonly poolSize?: number;
  /** Give up connecting (or waiting for a pooled connection) after this long. Default 10,000 ms. */
  readonly connectTimeoutMs?: number;
}

const EVENT_COLUMNS =
  'seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect';
// One transaction commits a batch for every process; larger batches amortise the commit (fsync) and
// the lock hand-over between processes (bench/postgres-append.ts).
const DEFAULT_MAX_BATCH = 512;
const DEFAULT_POOL_SIZE = 4;
const WRITER_IDLE_IN_TRANSACTION_MS = 60_000;

export class PostgresAuditLog implements AuditLog {
  private readonly queue: GroupCommitQueue<AppendItem, AppendReceipt>;
  private readonly tables: PostgresTables;
  private closing: Promise<void> | undefined;

  private constructor(
    /** The one connection appends and checkpoints go through (a pool of one: it reconnects). */
    private readonly writePool: Pool,
    private readonly readPool: Pool,
    private readonly writer: PostgresBatchWriter,
    private readonly schema: string,
    private readonly hasSigner: boolean,
    maxBatch: number,
    /** Verification's default cadence: the one this log signs at, when it signs. */
    private readonly signsEvery: number | undefined,
    private readonly onCheckpoint: ((checkpoint: AuditCheckpointV1) => void) | undefined,
    onCommit: AuditLogOptions['onCommit'],
  ) {
    this.tables = tablesOf(schema);
    this.queue = new GroupCommitQueue((events) => this.writeBatch(events), {
      maxBatch,
      maxInFlight: 1,
      ...(onCommit ? { onBatch: onCommit } : {}),
    });
  }

  pendingAppends(): number {
    return this.queue.pending;
  }

  /**
   * A read-write transaction (refused by a standby or a read-only session) on a read connection that
   * takes the append lock every writer takes (waiting at most `probeWaitMs`) and the lock an insert
   * into the records takes (refused without the privilege), then rolls back. A closed log is not
   * writable whatever the database says (its writer reconnects on its own, so nothing else fails for good).
   */
  async probeWritable(timeoutMs: number): Promise<void> {
    if (this.queue.isClosed || this.closing !== undefined) throw logRefusesWrites('closed', 'it is closed');
    const waitMs = probeWaitMs(timeoutMs);
    let client: PoolClient | undefined;
    try {
      client = await this.readPool.connect();
      await client.query('begin read write');
      try {
        await client.query(`set local lock_timeout = ${waitMs}`);
        await client.query(`set local statement_timeout = ${waitMs * 4}`);
        await client.query(`select pg_advisory_xact_lock(${advisoryLockKey('append', this.schema)})`);
        await client.query(`lock table ${this.tables.events} in row exclusive mode`);
      } finally {
        await client.query('rollback');
      }
      client.release();
    } catch (error) {
      client?.release(true); // a connection left mid-transaction is not put back
      throw notWritable(error);
    }
  }

  /** Connects, creates or migrates the schema (refusing a newer one) and returns the open log. */
  static async open(options: PostgresAuditLogOptions): Promise<PostgresAuditLog> {
    const schema = options.schema ?? 'public';
    quoteIdentifier(schema); // rejects an unusable name before connecting
    const checkpointEvery = checkpointCadence(options);
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!(maxBatch >= 1)) throw new RangeError(`maxBatch must be at least 1, got \`${maxBatch}\``);
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!(poolSize >= 1)) throw new RangeError(`poolSize must be at least 1, got \`${poolSize}\``);
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const writePool = createPool(options.connectionString, 1, connectTimeoutMs, {
      // a writer frozen mid-transaction (paused process, lost network) would hold the append lock of
      // every process: the server ends its session after this long, and its batch fails (fail closed)
      idle_in_transaction_session_timeout: WRITER_IDLE_IN_TRANSACTION_MS,
    });
    const readPool = createPool(options.connectionString, poolSize, connectTimeoutMs);
    let client: PoolClient | undefined;
    try {
      client = await writePool.connect();
      await applyPostgresMigrations(client, schema);
      client.release();
    } catch (error) {
      // a connection that failed mid-migration is discarded, not put back
      client?.release(true);
      await Promise.allSettled([writePool.end(), readPool.end()]);
      if (error instanceof ReinsError) throw error;
      throw new ReinsError(
        'audit_unavailable',
        `cannot open audit log in schema \`${schema}\` of ${describeTarget(options.connectionString)}: ${describeError(error)}`,
      );
    }
    const writer = createPostgresBatchWriter({ schema, signer: options.signer, checkpointEvery });
    return new PostgresAuditLog(
      writePool,
      readPool,
      writer,
      schema,
      options.signer !== undefined,
      maxBatch,
      options.signer ? checkpointEvery : undefined,
      options.onCheckpoint,
      options.onCommit,
    );
  }

  append(event: AuditEventV1, options: AppendOptions = {}): Promise<AppendReceipt> {
    let prepared: PreparedEvent;
    let captured: ReturnType<typeof checkedCaptures>;
    try {
      prepared = prepareForAppend(event);
      captured = checkedCaptures(options.captured);
    } catch (error) {
      return Promise.reject(error);
    }
    // PostgreSQL text cannot hold NUL: the searchable fields never do (spec/audit-event prepareEvent)
    return this.queue.enqueue(withCaptures(prepared, captured));
  }

  /** Only the rollback path reads captured content (see AuditLog.readCaptured). */
  async readCaptured(hash: string): Promise<Uint8Array | undefined> {
    if (notAHash(hash)) return undefined;
    const { rows } = await this.readPool.query<{ content: Buffer }>(
      capturedReadSql(this.tables.captures, POSTGRES_PLACEHOLDER),
      [hash],
    );
    return checkedRead(hash, rows[0]?.content);
  }

  async *records(options: { afterSeq?: number } = {}): AsyncIterable<ChainedRecord> {
    const page = recordPageSql(this.tables.events, POSTGRES_PLACEHOLDER);
    yield* pagedRecords(
      options.afterSeq ?? 0,
      async (after, size) => (await this.readPool.query<EventRowFields>(page, [after, size])).rows,
    );
  }

  async query(query: AuditQuery): Promise<AuditRecordView[]> {
    await this.queue.drain();
    const statement = auditQueryStatement(
      query,
      { columns: 'seq, hash, body', from: this.tables.events },
      POSTGRES_PLACEHOLDER,
    );
    const { rows } = await this.readPool.query<{ seq: string; hash: string; body: string }>(
      statement.text,
      statement.values,
    );
    return rows.map(toRecordView);
  }

  async queryIndex(query: AuditQuery): Promise<AuditIndexRow[]> {
    await this.queue.drain();
    const statement = auditQueryStatement(
      query,
      { columns: indexColumns(''), from: this.tables.events },
      POSTGRES_PLACEHOLDER,
    );
    const { rows } = await this.readPool.query<AuditIndexRow & { seq: string }>(
      statement.text,
      statement.values,
    );
    return rows.map(toIndexRow);
  }

  async checkpoints(): Promise<AuditCheckpointV1[]> {
    await this.queue.drain();
    const { rows } = await this.readPool.query<CheckpointRowFields>(
      `select * from ${this.tables.checkpoints} order by seq`,
    );
    return rows.map(toCheckpoint);
  }

  async checkpoint(): Promise<AuditCheckpointV1 | undefined> {
    await this.queue.drain();
    if (!this.hasSigner) return undefined;
    const checkpoint = await this.withWriteConnection((client) => this.writer.checkpoint(client));
    if (checkpoint) this.onCheckpoint?.(checkpoint);
    return checkpoint;
  }

  async prune(before: Date): Promise<PruneReport> {
    await this.queue.drain();
    const cutoff = before.toISOString();
    const sql = auditPruneSql(this.tables, POSTGRES_PLACEHOLDER);
    return this.withWriteConnection(async (client) => {
      await client.query('begin isolation level read committed');
      try {
        // the same lock as appends: no batch links to a head that is being pruned away
        await client.query(`select pg_advisory_xact_lock(${advisoryLockKey('append', this.schema)})`);
        const { rows } = await client.query<CheckpointRowFields>(sql.anchorBefore, [cutoff]);
        const row = rows[0];
        if (row === undefined) {
          await client.query('commit');
          return { deleted: 0 };
        }
        const anchor = toCheckpoint(row);
        const deleted = (await client.query(sql.deleteRecordsThrough, [anchor.seq])).rowCount;
        // what only the pruned records captured goes with them
        const capturedDeleted = (await client.query(sql.deleteCapturesThrough, [anchor.seq])).rowCount;
        await client.query(sql.deleteCheckpointsBefore, [anchor.seq]);
        await client.query(sql.keepAnchor, [JSON.stringify(anchor)]);
        await client.query('commit');
        return { deleted: deleted ?? 0, capturedDeleted: capturedDeleted ?? 0, anchor };
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      }
    });
  }

  async verify(options: AuditVerifyOptions = {}): Promise<VerifyReport> {
    const checkpointEvery = options.checkpointEvery ?? this.signsEvery;
    await this.queue.drain();
    const client = await this.readPool.connect();
    let failure: Error | undefined;
    try {
      // one snapshot for the anchor, the checkpoints and every record: a concurrent prune or append
      // cannot make the walk see half of its work
      await client.query('begin isolation level repeatable read read only');
      const anchorRow = await client.query<{ value: string }>(anchorSql(this.tables.meta));
      const anchor = parseAnchor(anchorRow.rows[0]?.value);
      const checkpointRows = await client.query<CheckpointRowFields>(
        `select * from ${this.tables.checkpoints} order by seq`,
      );
      // every row, whatever its seq (a tampered seq must show up as a gap, not be skipped)
      await client.query(
        `declare reins_verify no scroll cursor for select ${EVENT_COLUMNS} from ${this.tables.events} order by seq`,
      );
      const verifyOptions = chainVerifyOptions(
        [...checkpointRows.rows.map(toCheckpoint), ...(options.extraCheckpoints ?? [])],
        { publicKey: options.publicKey, checkpointEvery },
        anchor,
      );
      return await verifyChain(fetchAll(client, 'reins_verify'), verifyOptions);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      try {
        await client.query('rollback');
        client.release();
      } catch (error) {
        client.release(failure ?? (error instanceof Error ? error : new Error(String(error))));
      }
    }
  }

  /** Flushes pending appends, signs a final checkpoint and closes the connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.queue.close();
      try {
        if (this.hasSigner) {
          const checkpoint = await this.withWriteConnection((client) => this.writer.checkpoint(client));
          if (checkpoint) this.onCheckpoint?.(checkpoint);
        }
      } finally {
        await Promise.allSettled([this.writePool.end(), this.readPool.end()]);
      }
    })();
    return this.closing;
  }

  private async writeBatch(events: readonly AppendItem[]): Promise<AppendReceipt[]> {
    let written: PostgresWrittenBatch;
    try {
      written = await this.withWriteConnection((client) => this.writer.write(client, events));
    } catch (error) {
      throw auditWriteFailed(error);
    }
    for (const checkpoint of written.checkpoints) this.onCheckpoint?.(checkpoint);
    return written.receipts;
  }

  /** Runs `work` on the write connection; a connection that failed is discarded (the pool reconnects). */
  private async withWriteConnection<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.writePool.connect();
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      // the transaction was rolled back (or the connection is broken): either way, start afresh
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }
}

/** A row of `audit_events`, columns as in EVENT_COLUMNS. */
type EventTuple = [string, string, string, string, string, string, string, string, string, string, string];

/**
 * Pages through an open cursor, fetching the next page while the current one is hashed. Rows come as
 * arrays (cheaper to build than objects).
 */
async function* fetchAll(client: PoolClient, cursor: string): AsyncGenerator<ChainedRecord> {
  const fetchPage = (): Promise<QueryArrayResult<EventTuple>> => {
    const page = client.query<EventTuple>({
      text: `fetch forward ${RECORD_PAGE_SIZE} from ${cursor}`,
      rowMode: 'array',
    });
    // handled now, rethrown where it is awaited: a failure while the previous page is still being
    // hashed must not count as an unhandled rejection (which would end the process)
    page.catch(() => {});
    return page;
  };
  let next: Promise<QueryArrayResult<EventTuple>> | undefined = fetchPage();
  try {
    while (next !== undefined) {
      const { rows }: QueryArrayResult<EventTuple> = await next;
      next = rows.length === RECORD_PAGE_SIZE ? fetchPage() : undefined;
      for (const [
        seq,
        prevHash,
        hash,
        body,
        time,
        kind,
        decisionId,
        sessionId,
        agentId,
        tool,
        effect,
      ] of rows) {
        yield {
          seq: Number(seq),
          prevHash,
          hash,
          body,
          time,
          kind,
          decisionId,
          sessionId,
          agentId,
          tool,
          effect,
        };
      }
    }
  } finally {
    // stopped early (verification found a bad record): let the page in flight settle before the caller
    // ends the transaction
    await next?.catch(() => undefined);
  }
}
