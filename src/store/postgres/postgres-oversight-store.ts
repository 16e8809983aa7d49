/**
 * @module store/postgres/postgres-oversight-store
 * Approval requests, overrides and session control in a PostgreSQL schema shared by any number of
 * gateways. Every write runs in one transaction holding the schema's oversight advisory lock (change
 * ids then become visible in order), appends to `oversight_changes` and `NOTIFY`s the schema's
 * channel. Each store keeps one `LISTEN` connection; a notification, a reconnection or a write through
 * this store makes it read the changes after the last one seen and tell its listeners the current
 * state of each changed record. The table is the source of truth: a notification lost while the
 * connection was down is caught up on reconnection. A vote cast through one gateway therefore resumes
 * the call held in another.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { describeError, ReinsError } from '../../spec/errors.js';
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
import { approvalListStatement, sessionListStatement } from '../state-queries.js';
import type { ApprovalStore, CounterStore, OverrideGrant, SessionControlStore } from '../state-stores.js';
import { createPool, lockedTransaction, readQuery } from './postgres-connections.js';
import { PostgresCounterStore } from './postgres-counter-store.js';
import { CatchUpPasses, PostgresListener } from './postgres-listener.js';
import {
  advisoryLockKey,
  applyPostgresMigrations,
  describeTarget,
  POSTGRES_PLACEHOLDER,
  quoteIdentifier,
} from './postgres-migrations.js';

export interface PostgresOversightStoreOptions {
  readonly connectionString: string;
  /** The schema holding the tables; created if missing. Default `public`. */
  readonly schema?: string;
  /** Connections for reads and writes (the listening connection comes on top). Default 2. */
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
}

interface Tables {
  readonly approvals: string;
  readonly overrides: string;
  readonly sessions: string;
  readonly changes: string;
}

export class PostgresOversightStore {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  /** The limit counters of the schema (see postgres-counter-store), on this store's pool. */
  readonly counters: CounterStore;
  private readonly tables: Tables;
  private readonly channel: string;
  private readonly lockKey: string;
  private readonly approvalListeners = new Set<(record: ApprovalRecord) => void>();
  private readonly sessionListeners = new Set<(session: SessionSummary) => void>();
  private readonly listener: PostgresListener;
  private readonly passes = new CatchUpPasses(
    () => this.catchUp(),
    () => this.closing !== undefined,
  );
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: Pool,
    options: PostgresOversightStoreOptions,
    private readonly schema: string,
    private lastSeen: number,
  ) {
    this.tables = {
      approvals: `${quoteIdentifier(schema)}.approvals`,
      overrides: `${quoteIdentifier(schema)}.approval_overrides`,
      sessions: `${quoteIdentifier(schema)}.session_control`,
      changes: `${quoteIdentifier(schema)}.oversight_changes`,
    };
    const digest = createHash('sha256').update(`reins/oversight/${schema}`).digest();
    this.channel = `reins_oversight_${digest.toString('hex').slice(0, 32)}`;
    this.lockKey = advisoryLockKey('oversight', schema);
    this.approvals = this.approvalStore();
    this.sessions = this.sessionStore();
    this.counters = new PostgresCounterStore(pool, schema);
    this.listener = new PostgresListener({
      connectionString: options.connectionString,
      channel: this.channel,
      wake: () => void this.passes.request(),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
  }

  /** Connects, migrates (refusing a newer schema), starts listening and returns the store. */
  static async open(options: PostgresOversightStoreOptions): Promise<PostgresOversightStore> {
    const schema = options.schema ?? 'public';
    quoteIdentifier(schema);
    const pool = createPool(options.connectionString, options.poolSize ?? 4, options.connectTimeoutMs);
    let store: PostgresOversightStore | undefined;
    try {
      const client = await pool.connect();
      try {
        await applyPostgresMigrations(client, schema);
      } finally {
        client.release();
      }
      const last = await pool.query<{ last: string }>(
        `select coalesce(max(id), 0) as last from ${quoteIdentifier(schema)}.oversight_changes`,
      );
      store = new PostgresOversightStore(pool, options, schema, Number(last.rows[0]?.last ?? 0));
      await store.listener.start();
      return store;
    } catch (error) {
      if (store !== undefined) await store.close();
      else await pool.end().catch(() => {});
      if (error instanceof ReinsError) throw error;
      throw new ReinsError(
        'store_unavailable',
        `cannot open oversight store in schema \`${schema}\` of ${describeTarget(options.connectionString)}: ${describeError(error)}`,
      );
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.approvalListeners.clear();
      this.sessionListeners.clear();
      await this.passes.settled();
      await this.listener.close();
      await this.pool.end().catch(() => {});
    })();
    return this.closing;
  }

  private approvalStore(): ApprovalStore {
    const t = this.tables;
    const readApproval = (query: BodyQuery, id: string, lock = false) =>
      readById(query, t.approvals, id, lock, (body) =>
        readRecord(ApprovalRecordSchema, body, `approval \`${id}\``),
      );
    const store = async (client: PoolClient, record: ApprovalRecord) => {
      await client.query(`update ${t.approvals} set body = $1, status = $2 where id = $3`, [
        JSON.stringify(record),
        record.status,
        record.id,
      ]);
      await this.recordChange(client, 'approval', record.id);
    };
    return {
      create: async (input) => {
        const record = validateInput(ApprovalRecordSchema, input, 'approval request');
        await this.write(async (client) => {
          const inserted = await client.query(
            `insert into ${t.approvals} (id, body, status, session_id, created_at) values ($1, $2, $3, $4, $5)
             on conflict (id) do nothing`,
            [record.id, JSON.stringify(record), record.status, record.sessionId, record.createdAt],
          );
          if (inserted.rowCount === 0) throw approvalExists(record.id);
          await this.recordChange(client, 'approval', record.id);
        });
      },
      get: async (id) => readApproval((text, values) => this.read(text, values), id),
      list: async (filter = {}) => {
        const statement = approvalListStatement(filter, t.approvals, POSTGRES_PLACEHOLDER);
        const { rows } = await this.read(statement.text, statement.values);
        return rows.map((row) => readRecord(ApprovalRecordSchema, row.body, 'approval'));
      },
      vote: async (id: string, vote: ApprovalVote, now: Date) => {
        const outcome = await this.write(async (client) => {
          const current = await readApproval((text, values) => client.query(text, values), id, true);
          const result = voteOnRequest(current, id, vote, now);
          await store(client, result.record);
          return result;
        });
        if (outcome.error) throw outcome.error;
        return outcome.record;
      },
      consume: async (id: string, callHash: string, now: Date) =>
        this.write(async (client) => {
          const current = await readApproval((text, values) => client.query(text, values), id, true);
          const used = spendApproval(current, callHash, now);
          if (used !== undefined) await store(client, used);
          return used !== undefined;
        }),
      close: async (id: string, status: 'expired' | 'cancelled', now: Date) =>
        this.write(async (client) => {
          const current = await readApproval((text, values) => client.query(text, values), id, true);
          if (current === undefined) return undefined;
          const closed = closeRequest(current, status, now);
          if (closed === undefined) return current;
          await store(client, closed);
          return closed;
        }),
      onChange: (listener) => subscribe(this.approvalListeners, listener),
      grantOverride: async (grant: OverrideGrant) => {
        await this.write(async (client) => {
          const inserted = await client.query(
            `insert into ${t.overrides} (decision_id, call_hash, body, expires_at) values ($1, $2, $3, $4)
             on conflict (decision_id) do nothing`,
            [grant.decisionId, grant.callHash, JSON.stringify(grant), Date.parse(grant.expiresAt)],
          );
          if (inserted.rowCount === 0) throw overrideExists(grant.decisionId);
        });
      },
      consumeOverride: async (callHash: string, now: Date) =>
        this.write(async (client) => {
          const { rows } = await client.query<{ decision_id: string; body: string }>(
            `update ${t.overrides} set used = true where decision_id = (
               select decision_id from ${t.overrides} where call_hash = $1 and not used and expires_at > $2
               order by expires_at limit 1 for update)
             returning decision_id, body`,
            [callHash, now.getTime()],
          );
          const row = rows[0];
          return row === undefined ? undefined : (JSON.parse(row.body) as OverrideGrant);
        }),
    };
  }

  private sessionStore(): SessionControlStore {
    const t = this.tables;
    const readSession = (query: BodyQuery, id: string, lock = false) =>
      readById(query, t.sessions, id, lock, (body) =>
        readRecord(SessionSummarySchema, body, `session \`${id}\``),
      );
    return {
      open: async (sessionId: string, agentId: string, now: Date) => {
        const existing = await readSession((text, values) => this.read(text, values), sessionId);
        if (existing !== undefined && openedBefore(existing)) return existing;
        return this.write(async (client) => {
          const current = await readSession((text, values) => client.query(text, values), sessionId, true);
          const { write, session } = sessionOnOpen(current, sessionId, agentId, now);
          if (write === 'none') return session;
          if (write === 'agent') {
            // killed or paused before it started: now we know whose session it is
            await client.query(`update ${t.sessions} set body = $1, agent_id = $2 where id = $3`, [
              JSON.stringify(session),
              agentId,
              sessionId,
            ]);
            return session;
          }
          const inserted = await client.query(
            `insert into ${t.sessions} (id, body, status, agent_id, updated_at) values ($1, $2, $3, $4, $5)
             on conflict (id) do nothing`,
            [sessionId, JSON.stringify(session), session.status, agentId, session.updatedAt],
          );
          if ((inserted.rowCount ?? 0) > 0) await this.recordChange(client, 'session', sessionId);
          return (await readSession((text, values) => client.query(text, values), sessionId)) ?? session;
        });
      },
      get: async (id) => readSession((text, values) => this.read(text, values), id),
      list: async (filter = {}) => {
        const statement = sessionListStatement(filter, t.sessions, POSTGRES_PLACEHOLDER);
        const { rows } = await this.read(statement.text, statement.values);
        return rows.map((row) => readRecord(SessionSummarySchema, row.body, 'session'));
      },
      setStatus: async (id: string, status: SessionStatus, change, now: Date) =>
        this.write(async (client) => {
          const current = await readSession((text, values) => client.query(text, values), id, true);
          const updated = sessionAfterChange(current, id, status, change, now);
          // writes hold the schema's oversight lock: nobody inserts this session between the read and here
          await client.query(
            current === undefined
              ? `insert into ${t.sessions} (body, status, updated_at, id, agent_id) values ($1, $2, $3, $4, $5)`
              : `update ${t.sessions} set body = $1, status = $2, updated_at = $3 where id = $4`,
            [
              JSON.stringify(updated),
              updated.status,
              updated.updatedAt,
              id,
              ...(current === undefined ? [updated.agentId] : []),
            ],
          );
          await this.recordChange(client, 'session', id);
          return updated;
        }),
      onChange: (listener) => subscribe(this.sessionListeners, listener),
    };
  }

  private async read(text: string, values: readonly unknown[]): Promise<{ rows: { body: string }[] }> {
    this.assertOpen();
    return readQuery<{ body: string }>(this.pool, text, values, unavailable);
  }

  private async write<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    const result = await lockedTransaction(this.pool, this.lockKey, work, unavailable);
    await this.passes.request();
    return result;
  }

  private async recordChange(client: PoolClient, kind: 'approval' | 'session', ref: string): Promise<void> {
    const now = Date.now();
    await client.query(`insert into ${this.tables.changes} (kind, ref, at) values ($1, $2, $3)`, [
      kind,
      ref,
      now,
    ]);
    await client.query(`delete from ${this.tables.changes} where at < $1`, [
      now - OVERSIGHT_CHANGE_RETENTION_MS,
    ]);
    await client.query('select pg_notify($1, $2)', [this.channel, kind]);
  }

  private async catchUp(): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; kind: string; ref: string }>(
      `select id, kind, ref from ${this.tables.changes} where id > $1 order by id`,
      [this.lastSeen],
    );
    const last = rows.at(-1);
    if (last === undefined) return;
    this.lastSeen = Number(last.id);
    const changed = changedRecords(rows);
    if (changed.approvals.length > 0 && this.approvalListeners.size > 0) {
      const found = await this.pool.query<{ body: string }>(
        `select body from ${this.tables.approvals} where id = any($1::text[])`,
        [changed.approvals],
      );
      for (const row of found.rows)
        notifyAll(this.approvalListeners, readRecord(ApprovalRecordSchema, row.body, 'approval'));
    }
    if (changed.sessions.length > 0 && this.sessionListeners.size > 0) {
      const found = await this.pool.query<{ body: string }>(
        `select body from ${this.tables.sessions} where id = any($1::text[])`,
        [changed.sessions],
      );
      for (const row of found.rows)
        notifyAll(this.sessionListeners, readRecord(SessionSummarySchema, row.body, 'session'));
    }
  }

  private assertOpen(): void {
    if (this.closing !== undefined)
      throw new ReinsError('store_unavailable', `oversight store in schema \`${this.schema}\` is closed`);
  }
}

/** Runs a query on the pool (reads) or on a write's connection. */
type BodyQuery = (text: string, values: unknown[]) => Promise<{ rows: { body: string }[] }>;

/** The record of one row by id; `lock` (inside a write) holds the row until the commit. */
async function readById<T>(
  query: BodyQuery,
  table: string,
  id: string,
  lock: boolean,
  parse: (body: string) => T,
): Promise<T | undefined> {
  const { rows } = await query(`select body from ${table} where id = $1${lock ? ' for update' : ''}`, [id]);
  const body = rows[0]?.body;
  return body === undefined ? undefined : parse(body);
}

function subscribe<T>(listeners: Set<(value: T) => void>, listener: (value: T) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function unavailable(what: 'read' | 'write', error: unknown): ReinsError {
  return new ReinsError('store_unavailable', `oversight store ${what} failed: ${describeError(error)}`);
}
