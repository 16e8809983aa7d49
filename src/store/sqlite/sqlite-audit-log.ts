/**
 * @module store/sqlite/sqlite-audit-log
 * The embedded audit log: one SQLite file (WAL, synchronous=FULL), hash-chained records, group commit.
 * For a file, writes run in a worker thread (see sqlite-audit-worker) and reads on this thread; an
 * in-memory log (`:memory:`, tests) writes inline. Appends resolve only once their batch is committed.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type VerifyReport, verifyChain } from '../../audit/chain.js';
import type { AuditEventV1, ChainedRecord } from '../../spec/audit-event.js';
import { describeError, ReinsError } from '../../spec/errors.js';
import type { AppendReceipt, AuditLog } from '../audit-log.js';
import { GroupCommitQueue } from '../group-commit.js';
import type { WorkerRequest, WorkerResponse } from './sqlite-audit-worker.js';
import {
  configureConnection,
  createBatchWriter,
  flattenEvents,
  type PreparedEvent,
} from './sqlite-audit-writer.js';
import { applySqliteMigrations, checkSqliteSchema } from './sqlite-migrations.js';

export interface SqliteAuditLogOptions {
  /** File path, or `:memory:`. Parent directories are created. */
  readonly path: string;
  /** Most events per transaction. */
  readonly maxBatch?: number;
  /** Batches handed to the writer thread before the first is committed (file logs only). */
  readonly maxInFlight?: number;
  /** Open an existing log for reading and verifying only: nothing is created, migrated or written. */
  readonly readOnly?: boolean;
}

interface EventRow {
  seq: number;
  prev_hash: string;
  hash: string;
  body: string;
  kind: string;
  decision_id: string;
  session_id: string;
  agent_id: string;
  tool: string;
}

const PAGE_SIZE = 5_000;
const DEFAULT_MAX_BATCH = 64;
const DEFAULT_MAX_IN_FLIGHT = 4;

type BatchWriter = {
  write(events: readonly PreparedEvent[]): Promise<AppendReceipt[]> | AppendReceipt[];
  close(): Promise<void>;
};

export class SqliteAuditLog implements AuditLog {
  private readonly database: Database.Database;
  private readonly writer: BatchWriter;
  private readonly queue: GroupCommitQueue<PreparedEvent, AppendReceipt>;

  constructor(options: SqliteAuditLogOptions) {
    const inMemory = options.path === ':memory:';
    try {
      if (options.readOnly) {
        this.database = new Database(options.path, { readonly: true, fileMustExist: true });
        checkSqliteSchema(this.database);
      } else {
        if (!inMemory) mkdirSync(dirname(options.path), { recursive: true });
        this.database = new Database(options.path);
        configureConnection(this.database);
        applySqliteMigrations(this.database);
      }
    } catch (error) {
      if (error instanceof ReinsError) throw error;
      throw new ReinsError(
        'audit_unavailable',
        `cannot open audit log \`${options.path}\`: ${describeError(error)}`,
      );
    }
    if (options.readOnly) this.writer = readOnlyWriter(options.path);
    else this.writer = inMemory ? inlineWriter(this.database) : new WorkerWriter(options.path);
    // A worker commits batches in the order it receives them, so a few can be in flight at once:
    // the pipeline works on the results of one batch while the next is on its way to disk. Batches
    // of 64 with 4 in flight measured best on 2 cores (BENCHMARKS.md); one flush still covers many calls.
    const queueOptions = {
      maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: inMemory ? 1 : (options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT),
    };
    this.queue = new GroupCommitQueue((events) => this.writeBatch(events), queueOptions);
  }

  append(event: AuditEventV1): Promise<AppendReceipt> {
    let prepared: PreparedEvent;
    try {
      prepared = prepareEvent(event);
    } catch (error) {
      return Promise.reject(
        new ReinsError('audit_unavailable', `audit event cannot be serialised: ${describeError(error)}`),
      );
    }
    return this.queue.enqueue(prepared);
  }

  async *records(options: { afterSeq?: number } = {}): AsyncIterable<ChainedRecord> {
    const page = this.database.prepare<[number, number], EventRow>(
      'select * from audit_events where seq > ? order by seq limit ?',
    );
    let after = options.afterSeq ?? 0;
    for (;;) {
      const rows = page.all(after, PAGE_SIZE);
      for (const row of rows) yield toRecord(row);
      const last = rows.at(-1);
      if (last === undefined || rows.length < PAGE_SIZE) return;
      after = last.seq;
    }
  }

  async verify(): Promise<VerifyReport> {
    await this.queue.drain();
    const rows = this.database.prepare<[], EventRow>('select * from audit_events order by seq').iterate();
    const columns = new Map<number, EventRow>();
    const records = (function* () {
      for (const row of rows) {
        columns.set(row.seq, row);
        yield toRecord(row);
      }
    })();
    return verifyChain(records, {
      checkRecord: (record) => {
        const row = columns.get(record.seq);
        columns.delete(record.seq);
        return row === undefined ? undefined : compareIndexColumns(row);
      },
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.writer.close();
    if (this.database.open) this.database.close();
  }

  private async writeBatch(events: readonly PreparedEvent[]): Promise<AppendReceipt[]> {
    try {
      return await this.writer.write(events);
    } catch (error) {
      throw new ReinsError('audit_unavailable', `audit write failed: ${describeError(error)}`);
    }
  }
}

function readOnlyWriter(path: string): BatchWriter {
  return {
    write: () => {
      throw new Error(`audit log \`${path}\` was opened read-only`);
    },
    close: async () => {},
  };
}

function inlineWriter(database: Database.Database): BatchWriter {
  const write = createBatchWriter(database);
  return { write, close: async () => {} };
}

/**
 * Sends batches to the writer thread and settles them with its answers. A worker that fails or exits
 * fails every pending and later write (fail closed: the harness then refuses calls).
 */
class WorkerWriter implements BatchWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve(value: AppendReceipt[]): void; reject(error: Error): void }
  >();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(path: string) {
    const script = new URL(
      `./sqlite-audit-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
      import.meta.url,
    );
    this.worker = script.pathname.endsWith('.ts')
      ? // Under the test runner the sources are TypeScript: register tsx in the worker, then load it.
        new Worker(
          `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script.href)}); })`,
          { eval: true, workerData: { path } },
        )
      : new Worker(script, { workerData: { path } });
    this.worker.unref(); // referenced only while writes are in flight (see send)
    this.worker.on('message', (response: WorkerResponse) => this.settle(response));
    this.worker.on('error', (error) => this.fail(new Error(`audit writer failed: ${describeError(error)}`)));
    this.worker.on('exit', (code) => this.fail(new Error(`audit writer exited (code ${code})`)));
  }

  write(events: readonly PreparedEvent[]): Promise<AppendReceipt[]> {
    return this.send({ id: this.nextId++, fields: flattenEvents(events) });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    await this.send({ id: this.nextId++, close: true });
    this.failure = new Error('the audit log is closed');
  }

  private send(request: WorkerRequest): Promise<AppendReceipt[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(request.id, { resolve, reject });
      // keep the process alive until every write in flight is answered
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage(request);
    });
  }

  private settle(response: WorkerResponse): void {
    const waiter = this.pending.get(response.id);
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker.unref();
    if (waiter === undefined) return;
    if (response.ok)
      waiter.resolve(response.hashes.map((hash, index) => ({ seq: response.firstSeq + index, hash })));
    else waiter.reject(new Error(response.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

/** Serialises an event once: the body that is hashed, plus searchable copies checked on verify. */
function prepareEvent(event: AuditEventV1): PreparedEvent {
  return { body: JSON.stringify(event), ...indexColumns(event) };
}

function toRecord(row: EventRow): ChainedRecord {
  return { seq: row.seq, prevHash: row.prev_hash, hash: row.hash, body: row.body };
}

/** The searchable copies of event fields; they are checked against the hashed body on verify. */
function indexColumns(event: AuditEventV1) {
  return {
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.principal.agentId,
    tool: `${event.tool.server}/${event.tool.name}`,
    effect: event.kind === 'call-intent' ? event.decision.effect : event.outcome,
  };
}

function compareIndexColumns(row: EventRow): string | undefined {
  let event: AuditEventV1;
  try {
    event = JSON.parse(row.body) as AuditEventV1;
  } catch {
    return `record ${row.seq} has a body that is not JSON`;
  }
  const expected = indexColumns(event);
  const actual = {
    kind: row.kind,
    decisionId: row.decision_id,
    sessionId: row.session_id,
    agentId: row.agent_id,
    tool: row.tool,
  };
  for (const [field, value] of Object.entries(actual)) {
    if (expected[field as keyof typeof expected] !== value) {
      return `record ${row.seq}: column \`${field}\` was changed (it no longer matches the hashed record)`;
    }
  }
  return undefined;
}
