/**
 * @module store/state-stores
 * Interfaces of the shared state that later issues fill in (sessions, approvals, agents and
 * credentials). Defined now so that both backends are designed for them; a backend that does not yet
 * implement one throws `StoreFeatureUnavailable` rather than pretending.
 */
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

export interface AgentRecord {
  readonly id: string;
  readonly owner: string;
  readonly description: string;
  readonly roles: readonly string[];
  readonly state: 'active' | 'suspended' | 'retired';
}

/** Agents, and revocations of their credentials (by token id, session or agent). */
export interface AgentStore {
  put(agent: AgentRecord): Promise<void>;
  get(id: string): Promise<AgentRecord | undefined>;
  list(): Promise<AgentRecord[]>;
  revoke(kind: 'token' | 'session' | 'agent', id: string, until: Date): Promise<void>;
  isRevoked(kind: 'token' | 'session' | 'agent', id: string): Promise<boolean>;
  onRevocation(listener: (kind: string, id: string) => void): () => void;
}
