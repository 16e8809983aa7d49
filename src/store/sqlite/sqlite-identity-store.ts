/**
 * @module store/sqlite/sqlite-identity-store
 * Agents and revocations in the embedded store (the same file as the audit log is fine).
 * Every write appends a row to `identity_changes` in its own transaction. Other connections, in this
 * process or others, learn of it by polling `PRAGMA data_version` (it changes only when another
 * connection commits, and costs no I/O) and then reading the changes after the last one they have seen.
 * A write through this store tells this store's listeners right after its commit. A listener may also
 * hear of a change another connection committed just before it subscribed (not yet polled).
 */
import type Database from 'better-sqlite3';
import { ReinsError } from '../../spec/errors.js';
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
import { SqliteChangePoller } from './sqlite-change-poller.js';
import { openSqliteStore, SQLITE_PLACEHOLDER } from './sqlite-migrations.js';

export interface SqliteIdentityStoreOptions {
  /** File path (usually the audit log's, `.reins/audit.db`), or `:memory:`. Parent directories are created. */
  readonly path: string;
  /** How often listeners poll for changes committed by other connections. Default 50 ms. */
  readonly pollIntervalMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 50;

interface ChangeRow {
  id: number;
  kind: string;
  ref: string;
  body: string | null;
}

export class SqliteIdentityStore implements IdentityStore {
  private readonly database: Database.Database;
  private readonly path: string;
  private readonly listeners = new Set<(change: IdentityChange) => void>();
  private readonly statements: Statements;
  private readonly poller: SqliteChangePoller;
  /** The last change id this store has told its listeners about (meaningful while it has listeners). */
  private lastSeen = 0;
  private readonly housekeeping = new HousekeepingSchedule();
  private closed = false;

  constructor(options: SqliteIdentityStoreOptions) {
    this.path = options.path;
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!(pollIntervalMs >= 1))
      throw new RangeError(`pollIntervalMs must be at least 1, got \`${pollIntervalMs}\``);
    this.database = openSqliteStore(options.path, 'identity store', 'store_unavailable');
    this.statements = prepareStatements(this.database);
    this.poller = new SqliteChangePoller(this.database, pollIntervalMs, () => {
      if (!this.closed) this.catchUp();
    });
  }

  async createAgent(agent: AgentRecordV1): Promise<AgentRecordV1> {
    const record = validateInput(AgentRecordV1Schema, agent, 'agent record');
    this.write(() => {
      const inserted = this.statements.insertAgent.run(
        record.id,
        JSON.stringify(record),
        record.state,
        record.updatedAt,
      );
      if (inserted.changes === 0) throw agentExists(record.id);
      this.recordChange(agentCreated(record));
    });
    return record;
  }

  async getAgent(id: string): Promise<AgentRecordV1 | undefined> {
    this.assertOpen();
    const row = this.statements.getAgent.get(id);
    return row === undefined ? undefined : readRecord(AgentRecordV1Schema, row.body, `agent \`${id}\``);
  }

  async listAgents(): Promise<AgentRecordV1[]> {
    this.assertOpen();
    return this.statements.listAgents
      .all()
      .map((row) => readRecord(AgentRecordV1Schema, row.body, 'agent record'));
  }

  async setAgentState(
    id: string,
    state: AgentState,
    change: { by: string; reason: string },
  ): Promise<AgentRecordV1> {
    const next = validateInput(AgentStateSchema, state, 'agent state');
    return this.write(() => {
      const { updated, entry } = agentStateChange(id, this.statements.getAgent.get(id)?.body, next, change);
      this.statements.updateAgent.run(JSON.stringify(updated), next, updated.updatedAt, id);
      this.recordChange(entry);
      return updated;
    });
  }

  async revoke(revocation: RevocationV1): Promise<void> {
    const record = validateInput(RevocationV1Schema, revocation, 'revocation');
    const until = epochOf(record.until, 'until');
    this.write(() => {
      const written = this.statements.upsertRevocation.run(
        record.kind,
        record.id,
        until,
        JSON.stringify(record),
      );
      // already revoked at least as long: nothing changed, nobody needs telling
      if (written.changes === 0) return;
      this.recordChange(revocationStored(record));
    });
  }

  async revocations(now: Date): Promise<RevocationV1[]> {
    this.assertOpen();
    return this.statements.liveRevocations
      .all(timeOf(now))
      .map((row) => readRecord(RevocationV1Schema, row.body, 'revocation'));
  }

  async dropLegacySigningKeys(): Promise<number> {
    return this.write(() => this.statements.dropKeys.run().changes);
  }

  onChange(listener: (change: IdentityChange) => void): () => void {
    this.assertOpen();
    if (this.listeners.size === 0) {
      this.lastSeen = this.statements.lastChange.get() ?? 0;
      this.poller.start();
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.poller.stop();
    };
  }

  /** Stops polling and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.poller.stop();
    if (this.database.open) this.database.close();
  }

  /**
   * Runs `work` in an immediate transaction (housekeeping included, at most hourly), then tells local
   * listeners about what was committed: this write's changes and any another connection committed first.
   */
  private write<T>(work: () => T): T {
    this.assertOpen();
    const now = Date.now();
    const housekeeping = this.housekeeping.due(now);
    const result = this.database
      .transaction(() => {
        const value = work();
        if (housekeeping) this.housekeep(now);
        return value;
      })
      .immediate();
    if (housekeeping) this.housekeeping.done(now);
    if (this.listeners.size > 0) this.poller.afterOwnWrite();
    return result;
  }

  private recordChange({ kind, ref, body }: ChangeEntry): void {
    this.statements.insertChange.run(kind, ref, JSON.stringify(body), Date.now());
  }

  /** Forgets long-expired revocations and old change rows (remembering how far changes were pruned). */
  private housekeep(now: number): void {
    const cutoffs = identityPruneCutoffs(now);
    this.statements.pruneRevocations.run(cutoffs.revocations);
    const pruned = this.statements.maxPrunedChange.get(cutoffs.changes);
    if (pruned === null || pruned === undefined) return;
    this.statements.pruneChanges.run(cutoffs.changes);
    this.statements.setPrunedThrough.run(pruned);
  }

  /** Reads the changes after the last one seen (in one snapshot) and tells every listener, in order. */
  private catchUp(): void {
    const changes = this.database.transaction((): IdentityChange[] => {
      // changes this store has not seen were pruned: tell listeners about everything instead
      if (missedPrunedChanges(this.statements.prunedThrough.get() ?? 0, this.lastSeen)) {
        const last = this.statements.lastChange.get() ?? 0;
        const everything = this.currentState();
        this.lastSeen = last;
        return everything;
      }
      const {
        changes: decoded,
        lastId,
        damaged,
      } = decodeChanges(this.statements.changesAfter.all(this.lastSeen));
      if (lastId !== undefined) this.lastSeen = lastId;
      return damaged ? [...decoded, ...this.currentState()] : decoded;
    })();
    for (const change of changes) notifyAll(this.listeners, change);
  }

  /**
   * One change per agent and live revocation: the resynchronisation of a reader that fell behind.
   * A corrupt revocation is left out here (reading the revocations reports it).
   */
  private currentState(): IdentityChange[] {
    const agents = this.statements.agentIds.all().map((id): IdentityChange => ({ kind: 'agent', id }));
    const revocations = this.statements.liveRevocations.all(Date.now()).flatMap((row): IdentityChange[] => {
      const parsed = RevocationV1Schema.safeParse(parseJson(row.body));
      return parsed.success ? [{ kind: 'revocation', revocation: parsed.data }] : [];
    });
    return [...agents, ...revocations];
  }

  private assertOpen(): void {
    if (this.closed) throw new ReinsError('store_unavailable', `identity store \`${this.path}\` is closed`);
  }
}

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(database: Database.Database) {
  return {
    insertAgent: database.prepare<[string, string, string, string]>(
      'insert into agents (id, body, state, updated_at) values (?, ?, ?, ?) on conflict (id) do nothing',
    ),
    getAgent: database.prepare<[string], { body: string }>('select body from agents where id = ?'),
    listAgents: database.prepare<[], { body: string }>(agentListSql('agents', 'body')),
    agentIds: database.prepare<[], string>(agentListSql('agents', 'id')).pluck(),
    updateAgent: database.prepare<[string, string, string, string]>(
      'update agents set body = ?, state = ?, updated_at = ? where id = ?',
    ),
    upsertRevocation: database.prepare<[string, string, number, string]>(
      `insert into revocations (kind, id, until, body) values (?, ?, ?, ?)
         on conflict (kind, id) do update set until = excluded.until, body = excluded.body
         where excluded.until > revocations.until`,
    ),
    getRevocation: database.prepare<[string, string], { body: string }>(
      'select body from revocations where kind = ? and id = ?',
    ),
    liveRevocations: database.prepare<[number], { body: string }>(
      liveRevocationsSql('revocations', SQLITE_PLACEHOLDER),
    ),
    dropKeys: database.prepare('delete from signing_keys'),
    insertChange: database.prepare<[string, string, string | null, number]>(
      'insert into identity_changes (kind, ref, body, at) values (?, ?, ?, ?)',
    ),
    changesAfter: database.prepare<[number], ChangeRow>(
      'select id, kind, ref, body from identity_changes where id > ? order by id',
    ),
    lastChange: database
      .prepare<[], number>(
        "select coalesce((select seq from sqlite_sequence where name = 'identity_changes'), 0)",
      )
      .pluck(),
    prunedThrough: database
      .prepare<[], number>('select pruned_through from identity_meta where id = 1')
      .pluck(),
    pruneChanges: database.prepare<[number]>('delete from identity_changes where at < ?'),
    pruneRevocations: database.prepare<[number]>('delete from revocations where until < ?'),
    maxPrunedChange: database
      .prepare<[number], number | null>('select max(id) from identity_changes where at < ?')
      .pluck(),
    setPrunedThrough: database.prepare<[number]>(
      'update identity_meta set pruned_through = max(pruned_through, ?) where id = 1',
    ),
  };
}
