/**
 * @module test/support/memory-oversight
 * A small in-memory `Oversight` for API tests: held calls become approval records (it is also the
 * harness's approval handler), votes need one of the required roles, sessions are the harness's
 * in-memory registry, and every action is recorded as an `operator-action`. It is a test double for
 * the store-backed service, not a second implementation of it: one process, quorum of one.
 */
import { randomUUID } from 'node:crypto';
import type { SessionRegistry } from '../../src/harness/session-registry.js';
import type { ApprovalHandler, ApprovalVerdict } from '../../src/harness/types.js';
import type { Oversight, OversightEvent } from '../../src/oversight/oversight.js';
import { ReinsError } from '../../src/spec/errors.js';
import type { Actor, ApprovalRecord, SessionSummary } from '../../src/spec/oversight.js';
import type { SessionStatus } from '../../src/spec/tool-call.js';
import type { AuditLog } from '../../src/store/audit-log.js';
import type { OverrideGrant } from '../../src/store/state-stores.js';

export class MemoryOversight implements Oversight {
  readonly approvals = new Map<string, ApprovalRecord>();
  private readonly waiting = new Map<string, (verdict: ApprovalVerdict) => void>();
  private readonly listeners = new Set<(event: OversightEvent) => void>();
  readonly suspended = new Set<string>();

  constructor(
    private readonly audit: AuditLog,
    private readonly sessions: SessionRegistry,
    private readonly approverRoles: readonly string[] = ['approver'],
  ) {}

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
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
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
    const session = this.sessions.get(id);
    if (session === undefined) throw new ReinsError('not_found', `unknown session \`${id}\``);
    if (session.status === 'killed') throw new ReinsError('conflict', `session \`${id}\` was killed`);
    await this.record(actor, `session.${status}`, 'session', id, reason, {
      sessionId: id,
      agentId: session.agentId,
    });
    this.sessions.setStatus(id, status);
    const summary = this.summary(id) as SessionSummary;
    this.emit({ type: 'session', session: summary });
    return summary;
  }

  async suspendAgent(agentId: string, actor: Actor, reason: string) {
    await this.record(actor, 'agent.suspend', 'agent', agentId, reason, { agentId });
    this.suspended.add(agentId);
  }

  async resumeAgent(agentId: string, actor: Actor, reason: string) {
    await this.record(actor, 'agent.resume', 'agent', agentId, reason, { agentId });
    this.suspended.delete(agentId);
  }

  async overrideDenial(decisionId: string, actor: Actor, reason: string): Promise<OverrideGrant> {
    await this.record(actor, 'override.grant', 'decision', decisionId, reason, {});
    return { decisionId, callHash: 'unknown', by: actor.id, reason, expiresAt: new Date().toISOString() };
  }

  subscribe(listener: (event: OversightEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private summary(id: string): SessionSummary | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const started = new Date(session.startedAt).toISOString();
    return { id, agentId: session.agentId, status: session.status, startedAt: started, updatedAt: started };
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
