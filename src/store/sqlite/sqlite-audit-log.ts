/**
 * @module store/sqlite/sqlite-audit-log
 * The embedded audit log: one SQLite file (WAL, synchronous=FULL), hash-chained records, group commit.
 * The chain head is read inside each write transaction (BEGIN IMMEDIATE), so several processes
 * appending to the same file still produce one valid chain.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { linkRecord, type VerifyReport, verifyChain } from '../../audit/chain.js';
import type { AuditEventV1, ChainedRecord } from '../../spec/audit-event.js';
import { describeError, ReinsError } from '../../spec/errors.js';
import type { AppendReceipt, AuditLog } from '../audit-log.js';
import { GroupCommitQueue } from '../group-commit.js';
import { applySqliteMigrations } from './sqlite-migrations.js';

export interface SqliteAuditLogOptions {
  /** File path, or `:memory:`. Parent directories are created. */
  readonly path: string;
  /** Most events per transaction. */
  readonly maxBatch?: number;
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

export class SqliteAuditLog implements AuditLog {
  private readonly database: Database.Database;
  private readonly queue: GroupCommitQueue<AuditEventV1, AppendReceipt>;
  private readonly insert: Database.Statement;
  private readonly head: Database.Statement<[], { seq: number; hash: string }>;
  private readonly writeTransaction: Database.Transaction<
    (events: readonly AuditEventV1[]) => AppendReceipt[]
  >;

  constructor(options: SqliteAuditLogOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    try {
      this.database = new Database(options.path);
      this.database.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before its appends resolve (durable intent before execution).
      this.database.pragma('synchronous = FULL');
      this.database.pragma('busy_timeout = 5000');
      applySqliteMigrations(this.database);
    } catch (error) {
      if (error instanceof ReinsError) throw error;
      throw new ReinsError(
        'audit_unavailable',
        `cannot open audit log \`${options.path}\`: ${describeError(error)}`,
      );
    }
    this.insert = this.database.prepare(
      `insert into audit_events (seq, prev_hash, hash, body, time, kind, decision_id, session_id, agent_id, tool, effect)
       values (@seq, @prevHash, @hash, @body, @time, @kind, @decisionId, @sessionId, @agentId, @tool, @effect)`,
    );
    this.head = this.database.prepare('select seq, hash from audit_events order by seq desc limit 1');
    this.writeTransaction = this.database.transaction((events: readonly AuditEventV1[]) => {
      let head = this.head.get();
      return events.map((event) => {
        const record = linkRecord(head, JSON.stringify(event));
        this.insert.run({ ...record, ...indexColumns(event) });
        head = record;
        return { seq: record.seq, hash: record.hash };
      });
    });
    this.queue = new GroupCommitQueue((events) => this.writeBatch(events), options.maxBatch);
  }

  append(event: AuditEventV1): Promise<AppendReceipt> {
    return this.queue.enqueue(event);
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
    if (this.database.open) this.database.close();
  }

  private writeBatch(events: readonly AuditEventV1[]): AppendReceipt[] {
    try {
      return this.writeTransaction.immediate(events);
    } catch (error) {
      throw new ReinsError('audit_unavailable', `audit write failed: ${describeError(error)}`);
    }
  }
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
