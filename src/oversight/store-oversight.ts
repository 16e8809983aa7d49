/**
 * @module oversight/store-oversight
 * The `Oversight` service on the shared stores: role checks, separation of duties (through the
 * approval record's requirements), every action recorded as an `operator-action` audit event before
 * it is reported done. Works the same on SQLite and PostgreSQL; the stores' change feeds carry the
 * effect to every process.
 */
import { randomUUID } from 'node:crypto';
import { AgentRegistry } from '../auth/agent-registry.js';
import type { OperatorActionEvent } from '../spec/audit-event.js';
import { callHash } from '../spec/call-hash.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import { type Actor, type ApprovalRecord, actorIs, type SessionSummary } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { applyVote, changeSessionStatus } from '../store/oversight-records.js';
import type {
  ApprovalStore,
  IdentityStore,
  OverrideGrant,
  SessionControlStore,
} from '../store/state-stores.js';
import type { Oversight, OversightEvent } from './oversight.js';

export interface StoreOversightOptions {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  readonly identities: IdentityStore;
  readonly audit: AuditLog;
  /** How long an override waits for the agent to retry the call. Default 1 hour. */
  readonly overrideTtlMs?: number;
  readonly clock?: () => number;
}

const DEFAULT_OVERRIDE_TTL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Role order for the built-in roles: an admin can do what an approver can, who can do what a viewer can. */
const RANK: Record<string, number> = { viewer: 1, approver: 2, admin: 3 };

export function hasRole(actor: Actor, needed: 'viewer' | 'approver' | 'admin'): boolean {
  const required = RANK[needed] ?? Number.POSITIVE_INFINITY;
  return actor.roles.some((role) => (RANK[role] ?? 0) >= required);
}

export class StoreOversight implements Oversight {
  private readonly clock: () => number;
  private readonly agents: AgentRegistry;

  constructor(private readonly options: StoreOversightOptions) {
    this.clock = options.clock ?? Date.now;
    this.agents = new AgentRegistry(options.identities, this.clock);
  }

  listApprovals(filter?: Parameters<ApprovalStore['list']>[0]): Promise<ApprovalRecord[]> {
    return this.options.approvals.list(filter);
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.options.approvals.get(id);
  }

  async voteApproval(
    id: string,
    actor: Actor,
    vote: { approved: boolean; reason: string },
  ): Promise<ApprovalRecord> {
    requireReason(vote.reason);
    const current = await this.options.approvals.get(id);
    if (current === undefined) throw new ReinsError('not_found', `unknown approval request \`${id}\``);
    // a vote must be able to count: the actor holds a role one of the requirements names
    const eligible = current.requirements.some((requirement) =>
      actor.roles.some((role) => requirement.approvers.includes(role)),
    );
    if (!eligible) {
      const roles = [...new Set(current.requirements.flatMap((requirement) => requirement.approvers))];
      throw new ReinsError(
        'forbidden',
        `\`${actor.id}\` holds none of the approver roles (${roles.join(', ')})`,
      );
    }
    if (
      vote.approved &&
      current.owner !== undefined &&
      actorIs(actor, current.owner) &&
      current.requirements.every((requirement) => !requirement.ownerMayApprove) &&
      current.requirements.every((requirement) => requirement.quorum === 1)
    ) {
      throw new ReinsError(
        'forbidden',
        `separation of duties: \`${actor.id}\` owns agent \`${current.agentId}\` and cannot approve its call alone`,
      );
    }
    if (vote.approved) await this.requireReleasable(current);
    // what the store would refuse (no longer pending, a second vote) is refused before anything is
    // recorded; a request past its expiry is left to the store, which marks it expired and says so
    const at = new Date(this.clock());
    const preview = applyVote(current, { actor, ...vote, at: at.toISOString() }, at);
    if (preview.error !== undefined) return this.castVote(id, actor, vote);
    return this.recordThenDo(
      actor,
      vote.approved ? 'approval.approve' : 'approval.deny',
      { type: 'approval', id },
      { decisionId: id, reason: vote.reason, sessionId: current.sessionId, agentId: current.agentId },
      () => this.castVote(id, actor, vote),
    );
  }

  private castVote(id: string, actor: Actor, vote: { approved: boolean; reason: string }) {
    const now = new Date(this.clock());
    return this.options.approvals.vote(
      id,
      { actor, approved: vote.approved, reason: vote.reason, at: now.toISOString() },
      now,
    );
  }

  /**
   * An approval must not release a call of a suspended (or retired) agent or a killed session. The
   * process holding the call refuses it anyway (and re-checks at release); refusing the vote tells the
   * approver why. Agents the registry does not know (library embeddings without one) are not judged here.
   */
  private async requireReleasable(approval: ApprovalRecord): Promise<void> {
    for (const agentId of [approval.agentId, ...approval.delegatedBy]) {
      const agent = await this.options.identities.getAgent(agentId);
      if (agent !== undefined && agent.state !== 'active') {
        throw new ReinsError(
          'conflict',
          `agent \`${agentId}\` is ${agent.state}: its held calls cannot be approved`,
        );
      }
    }
    const session = await this.options.sessions.get(approval.sessionId);
    if (session?.status === 'killed') {
      throw new ReinsError(
        'conflict',
        `session \`${approval.sessionId}\` was killed: its held calls cannot be approved`,
      );
    }
  }

  listSessions(filter?: Parameters<SessionControlStore['list']>[0]): Promise<SessionSummary[]> {
    return this.options.sessions.list(filter);
  }

  getSession(id: string): Promise<SessionSummary | undefined> {
    return this.options.sessions.get(id);
  }

  async setSessionStatus(
    id: string,
    status: SessionStatus,
    actor: Actor,
    reason: string,
  ): Promise<SessionSummary> {
    requireRole(actor, 'approver', `change the status of session \`${id}\``);
    requireReason(reason);
    const action =
      status === 'active' ? 'session.resume' : status === 'paused' ? 'session.pause' : 'session.kill';
    const current = await this.options.sessions.get(id);
    // a killed session stays killed: refused before anything is recorded
    if (current !== undefined) changeSessionStatus(current, status, { by: actor.id, reason }, new Date(0));
    const agentId = current?.agentId;
    return this.recordThenDo(
      actor,
      action,
      { type: 'session', id },
      { reason, sessionId: id, ...(agentId !== undefined ? { agentId } : {}) },
      () => this.options.sessions.setStatus(id, status, { by: actor.id, reason }, new Date(this.clock())),
    );
  }

  suspendAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1> {
    return this.changeAgentState('suspend', agentId, actor, reason);
  }

  resumeAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1> {
    return this.changeAgentState('resume', agentId, actor, reason);
  }

  retireAgent(agentId: string, actor: Actor, reason: string): Promise<AgentRecordV1> {
    return this.changeAgentState('retire', agentId, actor, reason);
  }

  /** Suspend, resume and retire are admin actions; suspend and retire also revoke every credential. */
  private async changeAgentState(
    action: 'suspend' | 'resume' | 'retire',
    agentId: string,
    actor: Actor,
    reason: string,
  ): Promise<AgentRecordV1> {
    requireRole(actor, 'admin', `${action} agent \`${agentId}\``);
    requireReason(reason);
    return this.recordThenDo(
      actor,
      `agent.${action}`,
      { type: 'agent', id: agentId },
      { reason, agentId },
      () => this.agents[action](agentId, { by: actor.id, reason }),
    );
  }

  async overrideDenial(
    decisionId: string,
    actor: Actor,
    reason: string,
    sessionId?: string,
  ): Promise<OverrideGrant> {
    requireRole(actor, 'admin', `override the denial of \`${decisionId}\``);
    requireReason(reason);
    const intent = await this.findDeniedIntent(decisionId, sessionId);
    const now = this.clock();
    const grant: OverrideGrant = {
      decisionId,
      callHash: callHash({
        principal: intent.principal,
        sessionId: intent.sessionId,
        tool: intent.tool,
        args: intent.args,
        context: {},
      }),
      by: actor.id,
      reason,
      expiresAt: new Date(now + (this.options.overrideTtlMs ?? DEFAULT_OVERRIDE_TTL_MS)).toISOString(),
    };
    // recorded first: an override nobody can account for must not exist
    await this.record(
      actor,
      'override.grant',
      { type: 'call', id: decisionId },
      {
        decisionId,
        reason,
        sessionId: intent.sessionId,
        agentId: intent.principal.agentId,
      },
    );
    await this.options.approvals.grantOverride(grant);
    return grant;
  }

  subscribe(listener: (event: OversightEvent) => void): () => void {
    const stopApprovals = this.options.approvals.onChange((record) => listener({ type: 'approval', record }));
    const stopSessions = this.options.sessions.onChange((session) => listener({ type: 'session', session }));
    return () => {
      stopApprovals();
      stopSessions();
    };
  }

  private async findDeniedIntent(decisionId: string, sessionId: string | undefined) {
    const query =
      sessionId !== undefined
        ? { sessionId, kind: 'call-intent' as const, effect: 'deny' }
        : {
            kind: 'call-intent' as const,
            effect: 'deny',
            from: new Date(this.clock() - DAY_MS).toISOString(),
          };
    let afterSeq = 0;
    for (;;) {
      const page = await this.options.audit.query({ ...query, afterSeq, limit: 1000 });
      for (const { event } of page) {
        if (event.kind === 'call-intent' && event.decisionId === decisionId) {
          if (event.decision.diagnostics.length > 0) {
            throw new ReinsError(
              'conflict',
              `call \`${decisionId}\` was refused by a safety check (${event.decision.diagnostics[0]?.code}), not by a policy rule: it cannot be overridden`,
            );
          }
          return event;
        }
      }
      const last = page.at(-1);
      if (last === undefined || page.length < 1000) break;
      afterSeq = last.seq;
    }
    throw new ReinsError(
      'not_found',
      `no denied call \`${decisionId}\` in the audit log${sessionId ? '' : ' of the last day'}`,
    );
  }

  /**
   * Records an operator's action, then carries it out. In this order because the action's effects
   * (a released call's outcome, a held call refused by a kill) are chained by other processes as soon
   * as it takes effect: the log's order must be the order of events. If carrying it out fails, that
   * is recorded too (`<action>.failed`), so the log never claims an action that did not happen.
   */
  private async recordThenDo<T>(
    actor: Actor,
    action: string,
    target: { type: string; id: string },
    about: RecordedAbout,
    effect: () => Promise<T>,
  ): Promise<T> {
    await this.record(actor, action, target, about);
    try {
      return await effect();
    } catch (error) {
      await this.record(actor, `${action}.failed`, target, {
        ...about,
        reason: `${about.reason} (not done: ${describeError(error)})`,
      });
      throw error;
    }
  }

  private async record(
    actor: Actor,
    action: string,
    target: { type: string; id: string },
    about: RecordedAbout,
  ): Promise<void> {
    const id = randomUUID();
    const event: OperatorActionEvent = {
      v: 1,
      id,
      time: new Date(this.clock()).toISOString(),
      kind: 'operator-action',
      decisionId: about.decisionId ?? id,
      actor: { id: actor.id, roles: [...actor.roles] },
      action,
      target,
      reason: about.reason,
      sessionId: about.sessionId ?? '',
      agentId: about.agentId ?? '',
    };
    await this.options.audit.append(event);
  }
}

interface RecordedAbout {
  readonly decisionId?: string;
  readonly reason: string;
  readonly sessionId?: string;
  readonly agentId?: string;
}

function requireRole(actor: Actor, role: 'viewer' | 'approver' | 'admin', what: string): void {
  if (!hasRole(actor, role))
    throw new ReinsError('forbidden', `\`${actor.id}\` needs the ${role} role to ${what}`);
}

function requireReason(reason: string): void {
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new ReinsError('invalid_input', 'a reason is required: it is recorded with the action');
}
