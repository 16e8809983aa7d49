/**
 * @module store/state-stores
 * Interfaces of the shared state that later issues fill in (sessions, approvals, agents and
 * credentials). Defined now so that both backends are designed for them; a backend that does not yet
 * implement one throws `StoreFeatureUnavailable` rather than pretending.
 */
import type { ChainedRecord } from '../spec/audit-event.js';
import type { AgentRecordV1, AgentState, IdentityChange, RevocationV1 } from '../spec/identity.js';
import type { ApprovalRecord, ApprovalStatus, ApprovalVote, SessionSummary } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';

export class StoreFeatureUnavailable extends Error {
  readonly code = 'store_feature_unavailable';
  constructor(feature: string, backend: string) {
    super(`\`${feature}\` is not available on the ${backend} store yet`);
    this.name = 'StoreFeatureUnavailable';
  }
}

/**
 * The control state of sessions, shared by every process on the store: pausing or killing a session in
 * one process takes effect in all of them (`onChange`). The call history used by sequence rules stays
 * with the process that serves the session.
 */
export interface SessionControlStore {
  /** Registers the session if it is new (idempotent; records the agent of one created by a kill or pause); returns its current state. */
  open(sessionId: string, agentId: string, now: Date): Promise<SessionSummary>;
  get(sessionId: string): Promise<SessionSummary | undefined>;
  /** Most recently changed first; at most 1,000 (`limit` read as store/limits says). */
  list(filter?: { status?: SessionStatus; agentId?: string; limit?: number }): Promise<SessionSummary[]>;
  /**
   * Fails with `conflict` for a killed session (kill is final). Killing or pausing a session that has
   * not opened yet creates it in that state, with no agent until it opens (operators stop sessions
   * they expect to start); resuming one is `not_found`.
   */
  setStatus(
    sessionId: string,
    status: SessionStatus,
    change: { by: string; reason: string },
    now: Date,
  ): Promise<SessionSummary>;
  /** Called when any process changes a session's status. */
  onChange(listener: (session: SessionSummary) => void): () => void;
}

/** A one-time operator override of a denial, bound to the exact call (its call hash). */
export interface OverrideGrant {
  readonly decisionId: string;
  readonly callHash: string;
  readonly by: string;
  readonly reason: string;
  /** ISO 8601. */
  readonly expiresAt: string;
}

/**
 * Durable approval requests bound to a call hash: created by the process holding the call, voted on
 * through any process, and resumed in the one that waits (`onChange` reaches every process).
 */
export interface ApprovalStore {
  /** Fails with `conflict` if the id exists. */
  create(record: ApprovalRecord): Promise<void>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest first; at most 1,000 (`limit` read as store/limits says). */
  list(filter?: { status?: ApprovalStatus; sessionId?: string; limit?: number }): Promise<ApprovalRecord[]>;
  /**
   * Adds a vote atomically and recomputes the status: `denied` on a refusal, `approved` once
   * `requirementsMet`. Fails with `not_found`, `conflict` (not pending, or this actor already voted)
   * or `expired` (past `expiresAt`; the record is then marked expired).
   */
  vote(id: string, vote: ApprovalVote, now: Date): Promise<ApprovalRecord>;
  /** `approved` -> `used` if the call hash matches: an approval runs exactly one call. */
  consume(id: string, callHash: string, now: Date): Promise<boolean>;
  /** `pending` -> `expired` or `cancelled`; returns the record, unchanged if it was no longer pending. */
  close(id: string, status: 'expired' | 'cancelled', now: Date): Promise<ApprovalRecord | undefined>;
  /** Called when any process creates or changes a request. */
  onChange(listener: (record: ApprovalRecord) => void): () => void;
  /** Records an override of a denial; spent by the first identical call (same call hash). */
  grantOverride(grant: OverrideGrant): Promise<void>;
  /** Spends the override for this call hash, if one is still valid. */
  consumeOverride(callHash: string, now: Date): Promise<OverrideGrant | undefined>;
}

/**
 * Agents, signing keys and revocations, shared by every process on the store. `onChange` tells every
 * process about changes made by any of them (PostgreSQL: LISTEN/NOTIFY; SQLite: polling the file's
 * data version), so that a revocation or a suspension takes effect everywhere without a restart.
 */
export interface IdentityStore {
  /** Fails with `conflict` if the id exists. */
  createAgent(agent: AgentRecordV1): Promise<AgentRecordV1>;
  getAgent(id: string): Promise<AgentRecordV1 | undefined>;
  listAgents(): Promise<AgentRecordV1[]>;
  /** Fails with `not_found` for an unknown agent; a retired agent cannot change state again. */
  setAgentState(
    id: string,
    state: AgentState,
    change: { by: string; reason: string },
  ): Promise<AgentRecordV1>;
  revoke(revocation: RevocationV1): Promise<void>;
  /** Revocations whose `until` is still in the future. */
  revocations(now: Date): Promise<RevocationV1[]>;
  /**
   * Deletes the credential signing keys earlier versions kept in the store (decision 0011: keys come
   * from a key source, never from the store) and returns how many there were.
   */
  dropLegacySigningKeys(): Promise<number>;
  /** Called in every process sharing the store after any change; returns an unsubscribe function. */
  onChange(listener: (change: IdentityChange) => void): () => void;
  close(): Promise<void>;
}

/** One amount a call adds to a limit counter, with the limit it must stay within. */
export interface CountRequest {
  /** The counter (a limit rule and the scope values it is kept per). */
  readonly key: string;
  readonly amount: number;
  /** The rule's `max`: the total in the window, this call included, may not exceed it. */
  readonly max: number;
  /** Start of the rule's window (epoch ms): entries at or after it count. */
  readonly sinceMs: number;
}

export type ReserveResult =
  | { readonly ok: true }
  /** Nothing was reserved; `totals` are the store's totals of every requested key, to decide again with. */
  | { readonly ok: false; readonly totals: ReadonlyMap<string, number> };

/**
 * The limit counters, shared by every process on the store (decision 0020). A reservation is atomic
 * across processes: either every count fits under its limit and all are recorded, or none is. A
 * reservation stays until released (the call did not run) or until it falls out of every window; a
 * crash keeps it, so a budget can be lost but never exceeded.
 *
 * Leases, on the same store, make work single-flight across processes and replicas (a session's
 * rollback): one holder per key at a time, and a holder killed with -9 loses its lease when it lapses,
 * so the work can be resumed elsewhere. A holder that works longer than its lease renews it (the same
 * call) before it lapses, and checks that it still holds it. Expiry is read against the `now` the
 * callers pass (their clocks): clocks that disagree by more than a small part of the lease's time to
 * live could let a lease be taken over early, so choose a time to live well above the clock skew.
 */
export interface CounterStore {
  /** Reserves every count for `decisionId` at `at` (epoch ms) if each fits; otherwise nothing. */
  reserve(decisionId: string, at: number, counts: readonly CountRequest[]): Promise<ReserveResult>;
  /** Gives back what `decisionId` reserved. Idempotent. */
  release(decisionId: string): Promise<void>;
  /** The totals of these keys from each one's `sinceMs` on. */
  totals(keys: readonly { key: string; sinceMs: number }[]): Promise<Map<string, number>>;
  /** Deletes entries older than `beforeMs` (outside every window); returns how many. */
  prune(beforeMs: number): Promise<number>;
  /**
   * Takes or renews `key` for `holder` until `now + ttlMs` (epoch ms); false while another holder's
   * lease is unexpired (a lease is expired from its `now + ttlMs` on). Atomic across processes. Throws
   * `RangeError` for an empty key or holder, a `ttlMs` that is not a positive number, or a `now` that is
   * not a number.
   */
  acquireLease(key: string, holder: string, ttlMs: number, now: number): Promise<boolean>;
  /** Gives the lease back if `holder` has it. Idempotent. */
  releaseLease(key: string, holder: string): Promise<void>;
  /**
   * `reserve`, and a read of the audit log of the same store after `afterSeq` (at most `limit` records,
   * in order), in one round trip: a decision that reads the session's past and reserves a limit then
   * costs one. Only where a round trip costs something (PostgreSQL).
   */
  reserveAndReadLog?(
    decisionId: string,
    at: number,
    counts: readonly CountRequest[],
    afterSeq: number,
    limit: number,
  ): Promise<{ readonly result: ReserveResult; readonly records: readonly ChainedRecord[] }>;
}
