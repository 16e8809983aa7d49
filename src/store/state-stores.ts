/**
 * @module store/state-stores
 * Interfaces of the shared state that later issues fill in (sessions, approvals, agents and
 * credentials). Defined now so that both backends are designed for them; a backend that does not yet
 * implement one throws `StoreFeatureUnavailable` rather than pretending.
 */
import type {
  AgentRecordV1,
  AgentState,
  IdentityChange,
  RevocationV1,
  SigningKeyRecordV1,
} from '../spec/identity.js';
import type { HistoryEntry, SessionStatus } from '../spec/tool-call.js';

export class StoreFeatureUnavailable extends Error {
  readonly code = 'store_feature_unavailable';
  constructor(feature: string, backend: string) {
    super(`\`${feature}\` is not available on the ${backend} store yet`);
    this.name = 'StoreFeatureUnavailable';
  }
}

/** Sessions shared by every gateway: status changes (pause, kill) take effect in all of them. */
export interface SessionStore {
  open(
    sessionId: string,
    agentId: string,
    now: number,
  ): Promise<{ status: SessionStatus; agentId: string; startedAt: number }>;
  appendHistory(sessionId: string, entry: HistoryEntry): Promise<void>;
  history(sessionId: string, since?: number): Promise<HistoryEntry[]>;
  setStatus(sessionId: string, status: SessionStatus, by: string, reason: string): Promise<void>;
  /** Called when any process changes a session's status. */
  onStatusChange(listener: (sessionId: string, status: SessionStatus) => void): () => void;
}

export interface ApprovalRequestRecord {
  readonly id: string;
  readonly decisionId: string;
  readonly callHash: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly status: 'pending' | 'approved' | 'denied' | 'expired' | 'used';
}

/** Durable approval requests bound to a call hash; decided in any process, resumed in the one that waits. */
export interface ApprovalStore {
  create(request: Omit<ApprovalRequestRecord, 'status'>): Promise<void>;
  decide(
    id: string,
    decision: { approved: boolean; by: string; reason: string },
  ): Promise<ApprovalRequestRecord>;
  get(id: string): Promise<ApprovalRequestRecord | undefined>;
  pending(): Promise<ApprovalRequestRecord[]>;
  onDecision(listener: (record: ApprovalRequestRecord) => void): () => void;
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
  signingKeys(): Promise<SigningKeyRecordV1[]>;
  addSigningKey(key: SigningKeyRecordV1): Promise<void>;
  retireSigningKey(kid: string, retiredAt: string, expiresAt: string): Promise<void>;
  /** Called in every process sharing the store after any change; returns an unsubscribe function. */
  onChange(listener: (change: IdentityChange) => void): () => void;
  close(): Promise<void>;
}
