/**
 * @module store/postgres/postgres-identity-store
 * Agents and revocations in a PostgreSQL schema shared by any number of Reins processes
 * (the audit log's schema is fine: the tables come from the same migrations).
 *
 * Every write runs in one transaction that holds the schema's identity advisory lock, appends a row to
 * `identity_changes` and `NOTIFY`s the schema's channel; the lock makes change ids commit in order.
 * Each store keeps one dedicated `LISTEN` connection: a notification (or a reconnection, or a write
 * through this store) makes it read the changes after the last one it has seen and tell its listeners,
 * in order, exactly once. The notification only wakes readers up; the table is the source of truth, so
 * nothing is lost while the connection is down. The listening connection reconnects by itself, and a
 * broken connection never ends the process. A listener may also hear of a change committed just before
 * it subscribed (its notification was still on its way).
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { describeError, ReinsError } from '../../spec/errors.js';
import {
  type AgentRecordV1,
  AgentRecordV1Schema,
  type AgentState,
  AgentStateSchema,
  type IdentityChange,
  type RevocationV1,
  RevocationV1Schema,
} from '../../spec/identity.js';
import { decodeChanges, missedPrunedChanges, notifyAll } from '../change-feed.js';
import {
  agentCreated,
  agentExists,
  agentStateChange,
  type ChangeEntry,
  epochOf,
  parseJson,
  readRecord,
  revocationStored,
  timeOf,
  validateInput,
} from '../identity-records.js';
import { HousekeepingSchedule, identityPruneCutoffs } from '../retention.js';
import { agentListSql, liveRevocationsSql } from '../state-queries.js';
import type { IdentityStore } from '../state-stores.js';
import { createPool, lockedTransaction, readQuery } from './postgres-connections.js';
import { CatchUpPasses, PostgresListener } from './postgres-listener.js';
import {
  advisoryLockKey,
  applyPostgresMigrations,
  describeTarget,
  POSTGRES_PLACEHOLDER,
  quoteIdentifier,
} from './postgres-migrations.js';

export interface PostgresIdentityStoreOptions {
  /** `postgres://user:password@host:port/database`; the other settings of `pg` apply (PG* variables). */
  readonly connectionString: string;
  /** The schema holding the tables; created if missing. Default `public`. */
  readonly schema?: string;
  /** Connections for reads and writes (the listening connection comes on top). Default 2. */
  readonly poolSize?: number;
  /** Give up connecting (or waiting for a pooled connection) after this long. Default 10,000 ms. */
  readonly connectTimeoutMs?: number;
  /** How often the listening connection is checked (a silently dead one is replaced). Default 15,000 ms. */
  readonly healthCheckMs?: number;
}

const DEFAULT_POOL_SIZE = 2;
const DEFAULT_HEALTH_CHECK_MS = 15_000;
const CHANGE_PAGE = 500;

interface ChangeRow {
  id: string;
  kind: string;
  ref: string;
  body: string | null;
  pruned_through: string;
}

interface Tables {
  readonly agents: string;
  readonly keys: string;
  readonly revocations: string;
  readonly changes: string;
  readonly meta: string;
}

export class PostgresIdentityStore implements IdentityStore {
  private readonly listeners = new Set<(change: IdentityChange) => void>();
  private readonly tables: Tables;
  /** The last change id this store has told its listeners about. */
  private lastSeen: number;
  private readonly housekeeping = new HousekeepingSchedule();
  private readonly listener: PostgresListener;
  private readonly passes = new CatchUpPasses(
    () => this.catchUp(),
    () => this.closing !== undefined,
  );
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: Pool,
    options: PostgresIdentityStoreOptions,
    private readonly schema: string,
    private readonly channel: string,
    lastSeen: number,
    healthCheckMs: number,
  ) {
    this.tables = tablesOf(schema);
    this.lastSeen = lastSeen;
    this.listener = new PostgresListener({
      connectionString: options.connectionString,
      channel,
      wake: () => void this.passes.request(),
      healthCheckMs,
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
  }

  /** Connects, creates or migrates the schema (refusing a newer one), starts listening and returns the store. */
  static async open(options: PostgresIdentityStoreOptions): Promise<PostgresIdentityStore> {
    const schema = options.schema ?? 'public';
    quoteIdentifier(schema); // rejects an unusable name before connecting
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!(poolSize >= 1)) throw new RangeError(`poolSize must be at least 1, got \`${poolSize}\``);
    const healthCheckMs = options.healthCheckMs ?? DEFAULT_HEALTH_CHECK_MS;
    if (!(healthCheckMs >= 1))
      throw new RangeError(`healthCheckMs must be at least 1, got \`${healthCheckMs}\``);
    const pool = createPool(options.connectionString, poolSize, options.connectTimeoutMs);
    let store: PostgresIdentityStore | undefined;
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      await applyPostgresMigrations(client, schema);
      client.release();
      client = undefined;
      const tables = tablesOf(schema);
      const last = await pool.query<{ last: string }>(
        `select coalesce(max(id), 0) as last from ${tables.changes}`,
      );
      store = new PostgresIdentityStore(
        pool,
        options,
        schema,
        channelOf(schema),
        Number(last.rows[0]?.last ?? 0),
        healthCheckMs,
      );
      // listening before open resolves: every change committed from now on reaches the listeners
      await store.listener.start();
      return store;
    } catch (error) {
      client?.release(true);
      if (store !== undefined) await store.close();
      else await pool.end().catch(() => {});
      if (error instanceof ReinsError) throw error;
      throw new ReinsError(
        'store_unavailable',
        `cannot open identity store in schema \`${schema}\` of ${describeTarget(options.connectionString)}: ${describeError(error)}`,
      );
    }
  }

  async createAgent(agent: AgentRecordV1): Promise<AgentRecordV1> {
    const record = validateInput(AgentRecordV1Schema, agent, 'agent record');
    await this.write(async (client) => {
      const inserted = await client.query(
        `insert into ${this.tables.agents} (id, body, state, updated_at) values ($1, $2, $3, $4)
         on conflict (id) do nothing`,
        [record.id, JSON.stringify(record), record.state, record.updatedAt],
      );
      if (inserted.rowCount === 0) throw agentExists(record.id);
      await this.recordChange(client, agentCreated(record));
    });
    return record;
  }

  async getAgent(id: string): Promise<AgentRecordV1 | undefined> {
    const { rows } = await this.read<{ body: string }>(
      `select body from ${this.tables.agents} where id = $1`,
      [id],
    );
    const row = rows[0];
    return row === undefined ? undefined : readRecord(AgentRecordV1Schema, row.body, `agent \`${id}\``);
  }

  async listAgents(): Promise<AgentRecordV1[]> {
    const { rows } = await this.read<{ body: string }>(agentListSql(this.tables.agents, 'body'));
    return rows.map((row) => readRecord(AgentRecordV1Schema, row.body, 'agent record'));
  }

  async setAgentState(
    id: string,
    state: AgentState,
    change: { by: string; reason: string },
  ): Promise<AgentRecordV1> {
    const next = validateInput(AgentStateSchema, state, 'agent state');
    return this.write(async (client) => {
      const { rows } = await client.query<{ body: string }>(
        `select body from ${this.tables.agents} where id = $1 for update`,
        [id],
      );
      const { updated, entry } = agentStateChange(id, rows[0]?.body, next, change);
      await client.query(
        `update ${this.tables.agents} set body = $1, state = $2, updated_at = $3 where id = $4`,
        [JSON.stringify(updated), next, updated.updatedAt, id],
      );
      await this.recordChange(client, entry);
      return updated;
    });
  }

  async revoke(revocation: RevocationV1): Promise<void> {
    const record = validateInput(RevocationV1Schema, revocation, 'revocation');
    const until = epochOf(record.until, 'until');
    await this.write(async (client) => {
      const written = await client.query(
        `insert into ${this.tables.revocations} as r (kind, id, until, body) values ($1, $2, $3, $4)
         on conflict (kind, id) do update set until = excluded.until, body = excluded.body
         where excluded.until > r.until`,
        [record.kind, record.id, until, JSON.stringify(record)],
      );
      // already revoked at least as long: nothing changed, nobody needs telling
      if (written.rowCount === 0) return;
      await this.recordChange(client, revocationStored(record));
    });
  }

  async revocations(now: Date): Promise<RevocationV1[]> {
    const { rows } = await this.read<{ body: string }>(
      liveRevocationsSql(this.tables.revocations, POSTGRES_PLACEHOLDER),
      [timeOf(now)],
    );
    return rows.map((row) => readRecord(RevocationV1Schema, row.body, 'revocation'));
  }

  async dropLegacySigningKeys(): Promise<number> {
    return this.write(
      async (client) => (await client.query(`delete from ${this.tables.keys}`)).rowCount ?? 0,
    );
  }

  onChange(listener: (change: IdentityChange) => void): () => void {
    this.assertOpen();
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Stops listening and closes every connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.listeners.clear();
      // a pass in flight finishes (its queries would fail on an ended pool) before the pool ends
      await this.passes.settled();
      await Promise.allSettled([this.listener.close(), this.pool.end()]);
    })();
    return this.closing;
  }

  /**
   * Runs `work` in a transaction holding the identity lock (housekeeping included, at most hourly),
   * then tells local listeners: the write resolves once they have been called.
   */
  private async write<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen();
    const now = Date.now();
    const housekeeping = this.housekeeping.due(now);
    // one writer at a time per schema: change ids become visible in the order they were given
    const result = await lockedTransaction(
      this.pool,
      advisoryLockKey('identity', this.schema),
      async (client) => {
        const value = await work(client);
        if (housekeeping) await this.housekeep(client, now);
        return value;
      },
      unavailable,
    );
    if (housekeeping) this.housekeeping.done(now);
    await this.passes.request();
    return result;
  }

  private async recordChange(client: PoolClient, { kind, ref, body }: ChangeEntry): Promise<void> {
    const { rows } = await client.query<{ id: string }>(
      `insert into ${this.tables.changes} (kind, ref, body, at) values ($1, $2, $3, $4) returning id`,
      [kind, ref, JSON.stringify(body), Date.now()],
    );
    // delivered at commit; small (well under the 8,000-byte limit): the reader fetches the rest
    await client.query('select pg_notify($1, $2)', [
      this.channel,
      JSON.stringify({ id: rows[0]?.id, kind, ref }),
    ]);
  }

  /** Forgets long-expired revocations and old change rows (remembering how far changes were pruned). */
  private async housekeep(client: PoolClient, now: number): Promise<void> {
    const cutoffs = identityPruneCutoffs(now);
    await client.query(`delete from ${this.tables.revocations} where until < $1`, [cutoffs.revocations]);
    const { rows } = await client.query<{ id: string }>(
      `delete from ${this.tables.changes} where at < $1 returning id`,
      [cutoffs.changes],
    );
    if (rows.length === 0) return;
    const highest = rows.reduce((max, row) => Math.max(max, Number(row.id)), 0);
    await client.query(
      `update ${this.tables.meta} set pruned_through = greatest(pruned_through, $1) where id = 1`,
      [highest],
    );
  }

  private async read<R extends QueryResultRow>(text: string, values: unknown[] = []) {
    this.assertOpen();
    return readQuery<R>(this.pool, text, values, unavailable);
  }

  /** Reads the changes after the last one seen and tells every listener, in order. */
  private async catchUp(): Promise<void> {
    for (;;) {
      const { rows } = await this.pool.query<ChangeRow>(
        `select c.id, c.kind, c.ref, c.body, m.pruned_through
         from ${this.tables.changes} c cross join ${this.tables.meta} m
         where c.id > $1 order by c.id limit ${CHANGE_PAGE}`,
        [this.lastSeen],
      );
      const first = rows[0];
      if (first === undefined) return;
      // Changes this store has not seen were pruned (it slept through the retention): tell listeners
      // about everything instead. A prune always happens in a write, whose own change row survives it.
      if (missedPrunedChanges(first.pruned_through, this.lastSeen)) {
        await this.resynchronise();
        continue;
      }
      const { changes, lastId, damaged } = decodeChanges(rows);
      if (lastId !== undefined) this.lastSeen = lastId;
      for (const change of changes) notifyAll(this.listeners, change);
      if (damaged) await this.resynchronise();
      if (rows.length < CHANGE_PAGE) return;
    }
  }

  /** One change per agent, key and live revocation, then on from the newest change. */
  private async resynchronise(): Promise<void> {
    const client = await this.pool.connect();
    let changes: IdentityChange[];
    let last: number;
    try {
      await client.query('begin isolation level repeatable read read only');
      const newest = await client.query<{ last: string }>(
        `select coalesce(max(id), 0) as last from ${this.tables.changes}`,
      );
      const agents = await client.query<{ id: string }>(agentListSql(this.tables.agents, 'id'));
      const revocations = await client.query<{ body: string }>(
        liveRevocationsSql(this.tables.revocations, POSTGRES_PLACEHOLDER),
        [Date.now()],
      );
      await client.query('commit');
      last = Number(newest.rows[0]?.last ?? 0);
      changes = [
        ...agents.rows.map((row): IdentityChange => ({ kind: 'agent', id: row.id })),
        // a corrupt revocation is left out here (reading the revocations reports it)
        ...revocations.rows.flatMap((row): IdentityChange[] => {
          const parsed = RevocationV1Schema.safeParse(parseJson(row.body));
          return parsed.success ? [{ kind: 'revocation', revocation: parsed.data }] : [];
        }),
      ];
    } catch (error) {
      client.release(true);
      throw error;
    }
    client.release();
    this.lastSeen = Math.max(this.lastSeen, last);
    for (const change of changes) notifyAll(this.listeners, change);
  }

  private assertOpen(): void {
    if (this.closing !== undefined)
      throw new ReinsError('store_unavailable', `identity store in schema \`${this.schema}\` is closed`);
  }
}

function tablesOf(schema: string): Tables {
  const quoted = quoteIdentifier(schema);
  return {
    agents: `${quoted}.agents`,
    keys: `${quoted}.signing_keys`,
    revocations: `${quoted}.revocations`,
    changes: `${quoted}.identity_changes`,
    meta: `${quoted}.identity_meta`,
  };
}

/**
 * The notification channel of a schema: an identifier of at most 63 bytes whatever the schema's name
 * (a digest, so that long names sharing a prefix stay apart).
 */
export function channelOf(schema: string): string {
  return `reins_identity_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

function unavailable(operation: 'read' | 'write', error: unknown): ReinsError {
  return new ReinsError('store_unavailable', `identity store ${operation} failed: ${describeError(error)}`);
}
