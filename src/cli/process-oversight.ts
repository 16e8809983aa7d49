/**
 * @module cli/process-oversight
 * Oversight within one process, for `reins serve` until the store-backed service is wired in: held
 * calls become approval records (it is the harness's approval handler), a vote needs one of the
 * required roles, sessions are the harness's registry, suspending an agent goes through the agent
 * registry (credentials revoked in every process), and every action is recorded as an
 * `operator-action` before it takes effect. Limits: records live in memory (a restart forgets pending
 * requests, whose calls were cancelled anyway), one approving vote decides, and only this process's
 * held calls and sessions are visible.
 */
import { randomUUID } from 'node:crypto';
import type { AgentRegistry } from '../auth/agent-registry.js';
import type { SessionRegistry } from '../harness/session-registry.js';
import type { ApprovalHandler, ApprovalVerdict } from '../harness/types.js';
import type { Oversight, OversightEvent } from '../oversight/oversight.js';
import { ReinsError } from '../spec/errors.js';
import type { Actor, ApprovalRecord, SessionSummary } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import type { OverrideGrant } from '../store/state-stores.js';

function requireRole(actor: Actor, role: string): void {
  if (!actor.roles.includes(role)) throw new ReinsError('forbidden', `this needs the \`${role}\` role`);
}

export class ProcessOversight implements Oversight {
  readonly approvals = new Map<string, ApprovalRecord>();
  private readonly waiting = new Map<string, (verdict: ApprovalVerdict) => void>();
  private readonly listeners = new Set<(event: OversightEvent) => void>();
  private readonly sessionChanges = new Map<string, { by: string; reason: string; at: string }>();
  private readonly audit: AuditLog;
  private readonly sessions: SessionRegistry;
  private readonly agents: AgentRegistry;
  private readonly approverRoles: readonly string[];
  private readonly approvalTimeoutMs: number;

  constructor(options: {
    audit: AuditLog;
    /** The harness's session registry (pause and kill take effect on the next call). */
    sessions: SessionRegistry;
    agents: AgentRegistry;
    /** Roles whose vote counts. Default: `approver` (admins hold it too). */
    approverRoles?: readonly string[];
    /** When a request expires (the harness's approval timeout). */
    approvalTimeoutMs: number;
  }) {
    this.audit = options.audit;
    this.sessions = options.sessions;
    this.agents = options.agents;
    this.approverRoles = options.approverRoles ?? ['approver'];
    this.approvalTimeoutMs = options.approvalTimeoutMs;
  }

  /** The harness's approval handler: each held call becomes a pending record until voted on. */
  handler(): ApprovalHandler {
    return (request, signal) =>
      new Promise<ApprovalVerdict>((resolve, reject) => {
        const now = new Date().toISOString();
        const record: ApprovalRecord = {
          id: request.decisionId,
          callHash: request.callHash,
          agentId: request.call.principal.agentId,
          delegatedBy: request.call.principal.delegatedBy,
          sessionId: request.call.sessionId,
          tool: request.call.tool,
          args: request.call.args,
          reasons: request.decision.reasons,
          requirements: [
            { ruleId: 'held', approvers: [...this.approverRoles], quorum: 1, ownerMayApprove: true },
          ],
          status: 'pending',
          votes: [],
          createdAt: now,
          expiresAt: new Date(Date.now() + this.approvalTimeoutMs).toISOString(),
          updatedAt: now,
          ...(request.call.principal.owner ? { owner: request.call.principal.owner } : {}),
        };
        this.put(record);
        this.waiting.set(record.id, resolve);
        signal.addEventListener(
          'abort',
          () => {
            this.waiting.delete(record.id);
            const current = this.approvals.get(record.id);
            if (current?.status === 'pending') this.put({ ...current, status: 'cancelled' });
            reject(signal.reason);
          },
          { once: true },
        );
      });
  }

  async listApprovals(filter: { status?: string; sessionId?: string; limit?: number } = {}) {
    return [...this.approvals.values()]
      .filter((record) => filter.status === undefined || record.status === filter.status)
      .filter((record) => filter.sessionId === undefined || record.sessionId === filter.sessionId)
      .reverse()
      .slice(0, filter.limit ?? 100);
  }

  async getApproval(id: string) {
    return this.approvals.get(id);
  }

  async voteApproval(id: string, actor: Actor, vote: { approved: boolean; reason: string }) {
    const record = this.approvals.get(id);
    if (record === undefined) throw new ReinsError('not_found', `unknown approval request \`${id}\``);
    const allowed = record.requirements.flatMap((requirement) => requirement.approvers);
    if (!actor.roles.some((role) => allowed.includes(role))) {
      throw new ReinsError('forbidden', `voting on \`${id}\` needs one of ${allowed.join(', ')}`);
    }
    if (record.status !== 'pending')
      throw new ReinsError('conflict', `request \`${id}\` is ${record.status}`);
    if (Date.parse(record.expiresAt) <= Date.now()) {
      this.put({ ...record, status: 'expired' });
      throw new ReinsError('expired', `request \`${id}\` expired`);
    }
    const at = new Date().toISOString();
    const updated: ApprovalRecord = {
      ...record,
      status: vote.approved ? 'approved' : 'denied',
      votes: [...record.votes, { actor, approved: vote.approved, reason: vote.reason, at }],
      updatedAt: at,
    };
    await this.record(
      actor,
      vote.approved ? 'approval.approve' : 'approval.deny',
      'approval',
      id,
      vote.reason,
      {
        sessionId: record.sessionId,
        agentId: record.agentId,
      },
    );
    this.put(updated);
    this.waiting.get(id)?.({ approved: vote.approved, by: actor.id, reason: vote.reason });
    this.waiting.delete(id);
    return updated;
  }

  async listSessions(filter: { status?: SessionStatus; agentId?: string; limit?: number } = {}) {
    return this.sessions
      .list()
      .map((session) => this.summary(session.id) as SessionSummary)
      .filter((session) => filter.status === undefined || session.status === filter.status)
      .filter((session) => filter.agentId === undefined || session.agentId === filter.agentId)
      .slice(0, filter.limit ?? 100);
  }

  async getSession(id: string) {
    return this.summary(id);
  }

  async setSessionStatus(id: string, status: SessionStatus, actor: Actor, reason: string) {
    requireRole(actor, 'approver');
    const session = this.sessions.get(id);
    if (session === undefined) throw new ReinsError('not_found', `unknown session \`${id}\``);
    if (session.status === 'killed') throw new ReinsError('conflict', `session \`${id}\` was killed`);
    await this.record(actor, `session.${status}`, 'session', id, reason, {
      sessionId: id,
      agentId: session.agentId,
    });
    this.sessions.setStatus(id, status);
    this.sessionChanges.set(id, { by: actor.id, reason, at: new Date().toISOString() });
    if (status === 'killed') {
      // a killed session's held calls are refused at once, not left to expire
      for (const record of this.approvals.values()) {
        if (record.sessionId !== id || record.status !== 'pending') continue;
        this.put({ ...record, status: 'cancelled', updatedAt: new Date().toISOString() });
        this.waiting.get(record.id)?.({ approved: false, by: actor.id, reason: `session killed: ${reason}` });
        this.waiting.delete(record.id);
      }
    }
    const summary = this.summary(id) as SessionSummary;
    this.emit({ type: 'session', session: summary });
    return summary;
  }

  async suspendAgent(agentId: string, actor: Actor, reason: string) {
    requireRole(actor, 'admin');
    await this.agents.show(agentId);
    await this.record(actor, 'agent.suspend', 'agent', agentId, reason, { agentId });
    // the kill switch: suspended and every credential revoked, in every process on the store
    await this.agents.suspend(agentId, { by: actor.id, reason });
  }

  async resumeAgent(agentId: string, actor: Actor, reason: string) {
    requireRole(actor, 'admin');
    await this.agents.show(agentId);
    await this.record(actor, 'agent.resume', 'agent', agentId, reason, { agentId });
    await this.agents.resume(agentId, { by: actor.id, reason });
  }

  async overrideDenial(decisionId: string, actor: Actor, _reason: string): Promise<OverrideGrant> {
    requireRole(actor, 'admin');
    // an override must be bound to the denied call's hash, which only the store-backed service keeps
    throw new ReinsError(
      'conflict',
      `cannot override \`${decisionId}\`: overrides need the shared oversight store`,
    );
  }

  subscribe(listener: (event: OversightEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private summary(id: string): SessionSummary | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const started = new Date(session.startedAt).toISOString();
    const change = this.sessionChanges.get(id);
    return {
      id,
      agentId: session.agentId,
      status: session.status,
      startedAt: started,
      updatedAt: change?.at ?? started,
      ...(change ? { changedBy: change.by, reason: change.reason } : {}),
    };
  }

  private put(record: ApprovalRecord): void {
    this.approvals.set(record.id, record);
    this.emit({ type: 'approval', record });
  }

  private emit(event: OversightEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private async record(
    actor: Actor,
    action: string,
    type: string,
    id: string,
    reason: string,
    about: { sessionId?: string; agentId?: string },
  ): Promise<void> {
    const eventId = randomUUID();
    await this.audit.append({
      v: 1,
      id: eventId,
      time: new Date().toISOString(),
      kind: 'operator-action',
      decisionId: type === 'approval' ? id : eventId,
      actor,
      action,
      target: { type, id },
      reason,
      sessionId: about.sessionId ?? '',
      agentId: about.agentId ?? '',
    });
  }
}
