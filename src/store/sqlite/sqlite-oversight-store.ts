/**
 * @module store/sqlite/sqlite-oversight-store
 * Approval requests, overrides and session control in the embedded store (usually the audit log's
 * file). Every write runs in an immediate transaction and appends a row to `oversight_changes`; other
 * connections, in this process or others, notice it by polling `PRAGMA data_version` (no I/O when
 * nothing changed) and tell their listeners the current state of each changed record. Several
 * processes on one file therefore see each other's votes and kills within one poll interval.
 */
import type Database from 'better-sqlite3';
import { ReinsError } from '../../spec/errors.js';
import {
  type ApprovalRecord,
  ApprovalRecordSchema,
  type ApprovalVote,
  type SessionSummary,
  SessionSummarySchema,
} from '../../spec/oversight.js';
import type { SessionStatus } from '../../spec/tool-call.js';
import { changedRecords, notifyAll } from '../change-feed.js';
import { readRecord, validateInput } from '../identity-records.js';
import {
  approvalExists,
  closeRequest,
  openedBefore,
  overrideExists,
  sessionAfterChange,
  sessionOnOpen,
  spendApproval,
  voteOnRequest,
} from '../oversight-records.js';
import { OVERSIGHT_CHANGE_RETENTION_MS } from '../retention.js';
import type { Statement } from '../sql-builder.js';
import { approvalListStatement, sessionListStatement } from '../state-queries.js';
import type { ApprovalStore, OverrideGrant, SessionControlStore } from '../state-stores.js';
import { SqliteChangePoller } from './sqlite-change-poller.js';
import { SqliteCounterStore } from './sqlite-counter-store.js';
import { openSqliteStore, SQLITE_PLACEHOLDER } from './sqlite-migrations.js';

export interface SqliteOversightStoreOptions {
  /** File path (usually the audit log's), or `:memory:`. */
  readonly path: string;
  /** How often listeners poll for changes committed by other connections. Default 25 ms. */
  readonly pollIntervalMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 25;

type ChangeKind = 'approval' | 'session';

export class SqliteOversightStore {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  /** The limit counters, on a connection of their own (see sqlite-counter-store). */
  readonly counters: SqliteCounterStore;
  private readonly database: Database.Database;
  private readonly statements: Statements;
  private readonly approvalListeners = new Set<(record: ApprovalRecord) => void>();
  private readonly sessionListeners = new Set<(session: SessionSummary) => void>();
  private readonly poller: SqliteChangePoller;
  private lastSeen = 0;
  private closed = false;

  constructor(private readonly options: SqliteOversightStoreOptions) {
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    // checked before the file is opened, so a bad option leaves nothing open
    if (!(pollIntervalMs >= 1))
      throw new RangeError(`pollIntervalMs must be at least 1, got \`${pollIntervalMs}\``);
    this.database = openSqliteStore(options.path, 'oversight store', 'store_unavailable');
    this.statements = prepareStatements(this.database);
    this.poller = new SqliteChangePoller(this.database, pollIntervalMs, () => {
      if (!this.closed) this.catchUp();
    });
    this.approvals = this.approvalStore();
    this.sessions = this.sessionStore();
    this.counters = new SqliteCounterStore(options.path);
  }

  /** Stops polling and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.approvalListeners.clear();
    this.sessionListeners.clear();
    this.poller.stop();
    this.counters.close();
    if (this.database.open) this.database.close();
  }

  private approvalStore(): ApprovalStore {
    const s = this.statements;
    const readApproval = (id: string): ApprovalRecord | undefined => {
      const body = s.getApproval.get(id);
      return body === undefined ? undefined : readRecord(ApprovalRecordSchema, body, `approval \`${id}\``);
    };
    const store = (record: ApprovalRecord) => {
      s.updateApproval.run(JSON.stringify(record), record.status, record.id);
      this.recordChange('approval', record.id);
    };
    return {
      create: async (input) => {
        const record = validateInput(ApprovalRecordSchema, input, 'approval request');
        this.write(() => {
          const inserted = s.insertApproval.run(
            record.id,
            JSON.stringify(record),
            record.status,
            record.sessionId,
            record.createdAt,
          );
          if (inserted.changes === 0) throw approvalExists(record.id);
          this.recordChange('approval', record.id);
        });
      },
      get: async (id) => {
        this.assertOpen();
        return readApproval(id);
      },
      list: async (filter = {}) => {
        this.assertOpen();
        return this.bodies(approvalListStatement(filter, 'approvals', SQLITE_PLACEHOLDER)).map((body) =>
          readRecord(ApprovalRecordSchema, body, 'approval'),
        );
      },
      vote: async (id: string, vote: ApprovalVote, now: Date) => {
        const outcome = this.write(() => {
          const result = voteOnRequest(readApproval(id), id, vote, now);
          store(result.record);
          return result;
        });
        if (outcome.error) throw outcome.error;
        return outcome.record;
      },
      consume: async (id: string, callHash: string, now: Date) =>
        this.write(() => {
          const used = spendApproval(readApproval(id), callHash, now);
          if (used !== undefined) store(used);
          return used !== undefined;
        }),
      close: async (id: string, status: 'expired' | 'cancelled', now: Date) =>
        this.write(() => {
          const current = readApproval(id);
          if (current === undefined) return undefined;
          const closed = closeRequest(current, status, now);
          if (closed === undefined) return current;
          store(closed);
          return closed;
        }),
      onChange: (listener) => this.subscribe(this.approvalListeners, listener),
      grantOverride: async (grant: OverrideGrant) => {
        this.write(() => {
          const inserted = s.insertOverride.run(
            grant.decisionId,
            grant.callHash,
            JSON.stringify(grant),
            Date.parse(grant.expiresAt),
          );
          if (inserted.changes === 0) throw overrideExists(grant.decisionId);
        });
      },
      consumeOverride: async (callHash: string, now: Date) =>
        this.write(() => {
          const row = s.liveOverride.get(callHash, now.getTime());
          if (row === undefined) return undefined;
          s.useOverride.run(row.decision_id);
          return JSON.parse(row.body) as OverrideGrant;
        }),
    };
  }

  private sessionStore(): SessionControlStore {
    const s = this.statements;
    const readSession = (id: string): SessionSummary | undefined => {
      const body = s.getSession.get(id);
      return body === undefined ? undefined : readRecord(SessionSummarySchema, body, `session \`${id}\``);
    };
    return {
      open: async (sessionId: string, agentId: string, now: Date) => {
        this.assertOpen();
        const existing = readSession(sessionId);
        if (existing !== undefined && openedBefore(existing)) return existing;
        return this.write(() => {
          const { write, session } = sessionOnOpen(readSession(sessionId), sessionId, agentId, now);
          if (write === 'none') return session;
          if (write === 'agent') {
            // killed or paused before it started: now we know whose session it is
            s.setSessionAgent.run(JSON.stringify(session), agentId, sessionId);
            return session;
          }
          const inserted = s.insertSession.run(
            sessionId,
            JSON.stringify(session),
            session.status,
            agentId,
            session.updatedAt,
          );
          if (inserted.changes > 0) this.recordChange('session', sessionId);
          return readSession(sessionId) ?? session;
        });
      },
      get: async (id) => {
        this.assertOpen();
        return readSession(id);
      },
      list: async (filter = {}) => {
        this.assertOpen();
        return this.bodies(sessionListStatement(filter, 'session_control', SQLITE_PLACEHOLDER)).map((body) =>
          readRecord(SessionSummarySchema, body, 'session'),
        );
      },
      setStatus: async (id: string, status: SessionStatus, change, now: Date) =>
        this.write(() => {
          const current = readSession(id);
          const updated = sessionAfterChange(current, id, status, change, now);
          const body = JSON.stringify(updated);
          if (current === undefined)
            s.insertSession.run(id, body, updated.status, updated.agentId, updated.updatedAt);
          else s.updateSession.run(body, updated.status, updated.updatedAt, id);
          this.recordChange('session', id);
          return updated;
        }),
      onChange: (listener) => this.subscribe(this.sessionListeners, listener),
    };
  }

  private subscribe<T>(listeners: Set<(value: T) => void>, listener: (value: T) => void): () => void {
    this.assertOpen();
    if (this.approvalListeners.size + this.sessionListeners.size === 0) {
      this.lastSeen = this.statements.lastChange.get() ?? 0;
      this.poller.start();
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (this.approvalListeners.size + this.sessionListeners.size === 0) this.poller.stop();
    };
  }

  /** Runs `work` in an immediate transaction, then tells local listeners what was committed. */
  private write<T>(work: () => T): T {
    this.assertOpen();
    const result = this.database.transaction(work).immediate();
    if (this.poller.running) this.poller.afterOwnWrite();
    return result;
  }

  /** The `body` column of a statement built in store/ (state-queries). */
  private bodies(statement: Statement): string[] {
    return this.database
      .prepare<(string | number)[], string>(statement.text)
      .pluck()
      .all(...statement.values);
  }

  private recordChange(kind: ChangeKind, ref: string): void {
    const now = Date.now();
    this.statements.insertChange.run(kind, ref, now);
    this.statements.pruneChanges.run(now - OVERSIGHT_CHANGE_RETENTION_MS);
  }

  /** Reads the changes after the last one seen and tells listeners each changed record's current state. */
  private catchUp(): void {
    const s = this.statements;
    const changed = this.database.transaction(() => {
      const rows = s.changesAfter.all(this.lastSeen);
      const last = rows.at(-1);
      if (last !== undefined) this.lastSeen = last.id;
      const ids = changedRecords(rows);
      const approvals = ids.approvals.flatMap((id) => {
        const body = s.getApproval.get(id);
        return body === undefined ? [] : [readRecord(ApprovalRecordSchema, body, 'approval')];
      });
      const sessions = ids.sessions.flatMap((id) => {
        const body = s.getSession.get(id);
        return body === undefined ? [] : [readRecord(SessionSummarySchema, body, 'session')];
      });
      return { approvals, sessions };
    })();
    for (const record of changed.approvals) notifyAll(this.approvalListeners, record);
    for (const session of changed.sessions) notifyAll(this.sessionListeners, session);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new ReinsError('store_unavailable', `oversight store \`${this.options.path}\` is closed`);
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(database: Database.Database) {
  return {
    insertApproval: database.prepare<[string, string, string, string, string]>(
      `insert into approvals (id, body, status, session_id, created_at) values (?, ?, ?, ?, ?)
       on conflict (id) do nothing`,
    ),
    getApproval: database.prepare<[string], string>('select body from approvals where id = ?').pluck(),
    updateApproval: database.prepare<[string, string, string]>(
      'update approvals set body = ?, status = ? where id = ?',
    ),
    insertOverride: database.prepare<[string, string, string, number]>(
      `insert into approval_overrides (decision_id, call_hash, body, expires_at) values (?, ?, ?, ?)
       on conflict (decision_id) do nothing`,
    ),
    liveOverride: database.prepare<[string, number], { decision_id: string; body: string }>(
      `select decision_id, body from approval_overrides
       where call_hash = ? and used = 0 and expires_at > ? order by expires_at limit 1`,
    ),
    useOverride: database.prepare<[string]>('update approval_overrides set used = 1 where decision_id = ?'),
    insertSession: database.prepare<[string, string, string, string, string]>(
      `insert into session_control (id, body, status, agent_id, updated_at) values (?, ?, ?, ?, ?)
       on conflict (id) do nothing`,
    ),
    getSession: database.prepare<[string], string>('select body from session_control where id = ?').pluck(),
    setSessionAgent: database.prepare<[string, string, string]>(
      "update session_control set body = ?, agent_id = ? where id = ? and agent_id = ''",
    ),
    updateSession: database.prepare<[string, string, string, string]>(
      'update session_control set body = ?, status = ?, updated_at = ? where id = ?',
    ),
    insertChange: database.prepare<[string, string, number]>(
      'insert into oversight_changes (kind, ref, at) values (?, ?, ?)',
    ),
    pruneChanges: database.prepare<[number]>('delete from oversight_changes where at < ?'),
    changesAfter: database.prepare<[number], { id: number; kind: string; ref: string }>(
      'select id, kind, ref from oversight_changes where id > ? order by id',
    ),
    lastChange: database
      .prepare<[], number>(
        "select coalesce((select seq from sqlite_sequence where name = 'oversight_changes'), 0)",
      )
      .pluck(),
  };
}
