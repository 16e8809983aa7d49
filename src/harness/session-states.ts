/**
 * @module harness/session-states
 * The session state decisions read (history, data flow), as projections of the audit log kept in a
 * bounded cache (decision 0020). The log is shared by every process and replica on the store, so a
 * session's past is the same whichever process served its earlier calls, and survives a restart.
 *
 * Before a decision reads a session, its projection is brought up to date with everything committed
 * before the decision began: one read of the log's tail since the last one (shared by every cached
 * session, and by decisions that arrive while a read is under way), or, for a session not in the
 * cache, one read of that session's records. Records arriving while a session is being rebuilt are
 * kept and applied after it, in log order, so none is missed or applied twice.
 *
 * Memory is bounded: at most `maxSessions` projections and `maxCachedCalls` calls in their histories
 * (least recently used leave first; the one in use stays), sessions
 * idle for `idleMs` leave, and a tail too long to be worth reading drops the cache (sessions are then
 * rebuilt from their own records when next used).
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { SessionProjection } from '../policy/session-projection.js';
import type { AuditEventV1, CallIntentEvent, CallOutcomeEvent, ChainedRecord } from '../spec/audit-event.js';
import type { AuditLog } from '../store/audit-log.js';

export interface SessionStatesOptions {
  readonly audit: AuditLog;
  /** Projections kept at most. Default 1,000. */
  readonly maxSessions?: number;
  /** Calls held in the cached histories at most, all sessions together. Default 200,000. */
  readonly maxCachedCalls?: number;
  /** A projection not used for this long leaves memory. Default 10 minutes. */
  readonly idleMs?: number;
  /** A tail longer than this many records drops the cache instead. Default 50,000. */
  readonly maxTail?: number;
  readonly clock?: () => number;
}

const PAGE = 5_000;

/** A store call that also reads the log after `afterSeq` (at most `limit` records, in order). */
export type TailRead<T> = (
  afterSeq: number,
  limit: number,
) => Promise<{ readonly value: T; readonly records: readonly ChainedRecord[] }>;

interface Cached {
  readonly projection: SessionProjection;
  usedAt: number;
}

export class SessionStates {
  private readonly audit: AuditLog;
  private readonly maxSessions: number;
  private readonly maxCachedCalls: number;
  private readonly idleMs: number;
  private readonly maxTail: number;
  private readonly clock: () => number;
  /** Least recently used first. */
  private readonly cache = new Map<string, Cached>();
  /** Sessions being rebuilt: the records the tail delivered meanwhile. */
  private readonly building = new Map<string, { seq: number; event: AuditEventV1 }[]>();
  private readonly rebuilds = new Map<string, Promise<SessionProjection>>();
  private policy: PreparedPolicy | undefined;
  /** Moves on whenever the cache is dropped: a rebuild begun before that is not kept. */
  private generation = 0;
  /** The last record the tail has read; undefined while nothing is cached. */
  private tailSeq: number | undefined;
  private starting: Promise<void> | undefined;
  /** The last tail read queued (reads run one at a time, in order). */
  private previous: Promise<boolean> = Promise.resolve(true);
  /** A plain tail read queued that has not started yet: later callers join it. */
  private waiting: Promise<boolean> | undefined;

  constructor(options: SessionStatesOptions) {
    this.audit = options.audit;
    this.maxSessions = options.maxSessions ?? 1_000;
    this.maxCachedCalls = options.maxCachedCalls ?? 200_000;
    this.idleMs = options.idleMs ?? 10 * 60_000;
    this.maxTail = options.maxTail ?? 50_000;
    this.clock = options.clock ?? Date.now;
    if (!(this.maxSessions >= 1))
      throw new RangeError(`maxSessions must be at least 1, got \`${this.maxSessions}\``);
  }

  /** How many sessions are in memory now. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * The projections of `sessionIds` under `policy`, holding every record committed before this call.
   * Rejects when the log cannot be read (the caller refuses the decision).
   */
  async read(policy: PreparedPolicy, sessionIds: readonly string[]): Promise<SessionProjection[]> {
    if (policy !== this.policy) this.reset(policy);
    for (let attempt = 0; ; attempt++) {
      const cachedBefore = sessionIds.some((id) => this.cache.has(id));
      const tail = cachedBefore ? this.catchUp() : Promise.resolve(true);
      const missing = sessionIds.filter((id) => !this.cache.has(id));
      await Promise.all(missing.map((id) => this.rebuild(policy, id)));
      const complete = await tail;
      if (policy !== this.policy) throw new Error('the policy changed while the session state was read');
      const found = sessionIds.map((id) => this.cache.get(id));
      if (complete && found.every((entry) => entry !== undefined)) {
        const now = this.clock();
        for (const [index, entry] of found.entries())
          this.touch(sessionIds[index] as string, entry as Cached, now);
        this.evict(now);
        return found.map((entry) => (entry as Cached).projection);
      }
      if (attempt >= 2) throw new Error('the session state kept changing while it was read');
    }
  }

  /** The projection in memory, if any (declared user input and observed outputs are added to it). */
  cached(policy: PreparedPolicy, sessionId: string): SessionProjection | undefined {
    return policy === this.policy ? this.cache.get(sessionId)?.projection : undefined;
  }

  private reset(policy: PreparedPolicy): void {
    this.policy = policy;
    this.drop();
  }

  private drop(): void {
    this.generation++;
    this.cache.clear();
    this.tailSeq = undefined;
  }

  private touch(id: string, entry: Cached, now: number): void {
    entry.usedAt = now;
    this.cache.delete(id);
    this.cache.set(id, entry);
  }

  private evict(now: number): void {
    let calls = 0;
    for (const entry of this.cache.values()) calls += entry.projection.history.length;
    for (const [id, entry] of this.cache) {
      const withinBudget = this.cache.size <= this.maxSessions && calls <= this.maxCachedCalls;
      // the session just used stays, however long: it is read again from the log once it has left
      if ((withinBudget && now - entry.usedAt < this.idleMs) || this.cache.size === 1) break;
      calls -= entry.projection.history.length;
      this.cache.delete(id);
    }
    if (this.cache.size === 0 && this.building.size === 0) this.tailSeq = undefined;
  }

  private rebuild(policy: PreparedPolicy, id: string): Promise<SessionProjection> {
    let rebuilding = this.rebuilds.get(id);
    if (rebuilding === undefined) {
      rebuilding = this.rebuildOnce(policy, id).finally(() => this.rebuilds.delete(id));
      this.rebuilds.set(id, rebuilding);
    }
    return rebuilding;
  }

  private async rebuildOnce(policy: PreparedPolicy, id: string): Promise<SessionProjection> {
    // the tail must start no later than the rebuild's read, so that nothing falls between them
    if (this.tailSeq === undefined) await this.startTail();
    const generation = this.generation;
    const projection = new SessionProjection(id, policy);
    const arrived: { seq: number; event: AuditEventV1 }[] = [];
    this.building.set(id, arrived);
    try {
      for (let after = 0; ; ) {
        const page = await this.audit.query({ sessionId: id, afterSeq: after, limit: PAGE });
        for (const record of page) projection.apply(record.seq, record.event);
        const last = page.at(-1);
        if (last === undefined || page.length < PAGE) break;
        after = last.seq;
      }
      for (const record of arrived) projection.apply(record.seq, record.event);
      if (generation === this.generation) this.cache.set(id, { projection, usedAt: this.clock() });
      return projection;
    } finally {
      this.building.delete(id);
    }
  }

  private startTail(): Promise<void> {
    this.starting ??= (async () => {
      try {
        const [head] = await this.audit.query({ order: 'desc', limit: 1 });
        this.tailSeq ??= head?.seq ?? 0;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  /**
   * The projections in memory, as they are, without reading the log (undefined unless all are
   * cached under `policy`). For a decision that reads the log together with its reservation
   * (`readWith`) and checks afterwards whether they changed.
   */
  peek(policy: PreparedPolicy, sessionIds: readonly string[]): SessionProjection[] | undefined {
    if (policy !== this.policy || this.tailSeq === undefined) return undefined;
    const entries: Cached[] = [];
    for (const id of sessionIds) {
      const entry = this.cache.get(id);
      if (entry === undefined) return undefined;
      entries.push(entry);
    }
    // in use: a session served only this way must not look idle
    const now = this.clock();
    for (const [index, entry] of entries.entries()) this.touch(sessionIds[index] as string, entry, now);
    return entries.map((entry) => entry.projection);
  }

  /**
   * Reads the log's tail with `read` — a store call that reads it together with other work in the
   * same round trip (a reservation) — in turn with the other tail reads, and applies what it returned.
   * Resolves with what `read` resolved with and whether the cache took the tail (`fresh`; false when
   * the cache was dropped meanwhile), or undefined if `read` was not called (nothing is cached).
   */
  async readWith<T>(read: TailRead<T>): Promise<{ value: T; fresh: boolean } | undefined> {
    let outcome: { value: T; fresh: boolean } | undefined;
    const job = this.previous
      .catch(() => false)
      .then(async () => {
        if (this.tailSeq === undefined) return false;
        const generation = this.generation;
        const tail = await read(this.tailSeq, PAGE);
        outcome = { value: tail.value, fresh: false };
        let fresh = this.applyTail(tail.records);
        // a full page: the rest is read as usual
        if (fresh && tail.records.length >= PAGE) fresh = await this.tailOnce().catch(() => false);
        // the projections the caller holds are the cache's only if it was not dropped meanwhile
        outcome.fresh = fresh && generation === this.generation;
        return outcome.fresh;
      });
    this.previous = job;
    await job;
    return outcome;
  }

  /**
   * Reads the log after `tailSeq` in a read that starts after this call: joins a read that is queued
   * and has not started yet, otherwise queues one after those under way (which started earlier, and
   * may miss what was committed just before this call). Resolves false when the tail was too long
   * and the cache was dropped instead.
   */
  private catchUp(): Promise<boolean> {
    if (this.waiting !== undefined) return this.waiting;
    const job = this.previous
      .catch(() => false)
      .then(() => {
        this.waiting = undefined;
        return this.tailOnce();
      });
    this.waiting = job;
    this.previous = job;
    return job;
  }

  private async tailOnce(): Promise<boolean> {
    if (this.tailSeq === undefined) await this.startTail();
    let read = 0;
    for await (const record of this.audit.records({ afterSeq: this.tailSeq ?? 0 })) {
      if (++read > this.maxTail) {
        // cheaper to rebuild the sessions that are used again than to read the whole backlog
        this.drop();
        return false;
      }
      this.applyRecord(record);
    }
    return true;
  }

  /** Applies records read after `tailSeq`, in order; false if there were too many (cache dropped). */
  private applyTail(records: readonly ChainedRecord[]): boolean {
    if (records.length > this.maxTail) {
      this.drop();
      return false;
    }
    for (const record of records) this.applyRecord(record);
    return true;
  }

  /**
   * A record this process has just appended at `seq`: applied at once when it is the next one after
   * what the tail has read (nothing of anyone else's lies between), which saves reading it back; a
   * record with others before it is left to the next tail read, which applies all in log order. What
   * is applied is the event as stored (its JSON: `body` when the log handed it back), as a read would
   * return it.
   */
  applyOwn(seq: number, event: CallIntentEvent | CallOutcomeEvent, body?: string): void {
    if (this.tailSeq === undefined || seq !== this.tailSeq + 1) return;
    const cached = this.cache.get(event.sessionId);
    const building = this.building.get(event.sessionId);
    this.tailSeq = seq;
    if (cached === undefined && building === undefined) return;
    const stored = JSON.parse(body ?? JSON.stringify(event)) as AuditEventV1;
    cached?.projection.apply(seq, stored);
    building?.push({ seq, event: stored });
  }

  private applyRecord(record: ChainedRecord): void {
    if (this.tailSeq !== undefined && record.seq <= this.tailSeq) return;
    this.tailSeq = record.seq;
    const cached = this.cache.get(record.sessionId);
    const building = this.building.get(record.sessionId);
    if (cached === undefined && building === undefined) return;
    const event = JSON.parse(record.body) as AuditEventV1;
    cached?.projection.apply(record.seq, event);
    building?.push({ seq: record.seq, event });
  }
}
