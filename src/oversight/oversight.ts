/**
 * @module oversight/oversight
 * What humans can do to running agents, in one place: vote on held calls, pause, resume and kill
 * sessions, suspend, resume and retire agents (kill switch), override a denial once. Every action checks the actor's
 * roles, takes effect in every process on the store, and is written to the audit log as an
 * `operator-action` event. The control-plane API, the console and the CLI all go through this.
 */

import type { AgentRecordV1 } from '../spec/identity.js';
import type { Actor, ApprovalRecord, ApprovalStatus, SessionSummary } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import type { OverrideGrant } from '../store/state-stores.js';

export type OversightEvent =
  | { readonly type: 'approval'; readonly record: ApprovalRecord }
  | { readonly type: 'session'; readonly session: SessionSummary };

/**
 * Errors are `ReinsError`s: `forbidden` (the actor lacks the role, already voted, or separation of
 * duties), `not_found`, `conflict` (no longer pending, session killed), `expired`, `invalid_input`.
 */
export interface Oversight {
  listApprovals(filter?: {
    status?: ApprovalStatus;
    sessionId?: string;
    limit?: number;
  }): Promise<ApprovalRecord[]>;
  getApproval(id: string): Promise<ApprovalRecord | undefined>;
  /** Casts the actor's vote; the waiting call resumes (in whichever process holds it) once approved. */
  voteApproval(
    id: string,
    actor: Actor,
    vote: { approved: boolean; reason: string },
  ): Promise<ApprovalRecord>;

  listSessions(filter?: {
    status?: SessionStatus;
    agentId?: string;
    limit?: number;
  }): Promise<SessionSummary[]>;
  getSession(id: string): Promise<SessionSummary | undefined>;
  /** Pause, resume or kill (final). A killed session's held calls are refused at once. */
  setSessionStatus(id: string, status: SessionStatus, actor: Actor, reason: string): Promise<SessionSummary>;

  /** Kill switch: the agent is suspended and its credentials revoked; every further call is denied. */
  suspendAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1>;
  resumeAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1>;
  /** For good: like suspending, but the agent cannot be resumed. */
  retireAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1>;

  /**
   * Lets the exact call that was denied (`decisionId`) run once if the agent retries it unchanged.
   * Admins only. Give `sessionId` to find a denial older than a day.
   */
  overrideDenial(
    decisionId: string,
    actor: Actor,
    reason: string,
    sessionId?: string,
  ): Promise<OverrideGrant>;

  /** Live changes from every process (for the console's live views). */
  subscribe(listener: (event: OversightEvent) => void): () => void;
}
