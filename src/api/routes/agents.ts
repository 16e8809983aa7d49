/**
 * @module api/routes/agents
 * `GET /v1/agents`, `GET /v1/agents/{id}`, `POST /v1/agents/{id}/suspend|resume` and
 * `POST /v1/agents/{id}/credentials/revoke` (admins): agent identities, their revocations, the kill
 * switch (through the oversight service), and revoking an agent's credentials, the one human write
 * outside that service, audited here before it takes effect.
 */
import { randomUUID } from 'node:crypto';
import type { OperatorActionEvent } from '../../spec/audit-event.js';
import type { AuditLog } from '../../store/audit-log.js';
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { actorOf } from '../caller.js';
import type { UserRecordV1 } from '../users.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

export function mountAgentRoutes(app: ControlApp, services: ControlServices): void {
  const { oversight, audit, identity, authenticator, clock } = services;

  const agentDetail = async (id: string) => {
    const agent = await identity.getAgent(id);
    if (agent === undefined) throw new ApiError('not_found', `unknown agent \`${id}\``);
    const revocations = (await identity.revocations(new Date(clock()))).filter(
      (revocation) => revocation.kind === 'agent' && revocation.id === id,
    );
    return { agent, revocations };
  };

  app.openapi(routes.listAgents, async (context) => {
    userOf(context, 'viewer');
    return context.json({ agents: await identity.listAgents() }, 200);
  });

  app.openapi(routes.getAgent, async (context) => {
    userOf(context, 'viewer');
    return context.json(await agentDetail(context.req.valid('param').id), 200);
  });

  app.openapi(routes.setAgentState, async (context) => {
    const user = userOf(context, 'admin');
    const { id, action } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    await agentDetail(id); // 404 before acting
    if (action === 'suspend') await oversight.suspendAgent(id, actorOf(user), reason);
    else await oversight.resumeAgent(id, actorOf(user), reason);
    return context.json(await agentDetail(id), 200);
  });

  app.openapi(routes.revokeCredentials, async (context) => {
    const user = userOf(context, 'admin');
    const { id } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    await agentDetail(id);
    // audited before it takes effect: an unrecorded revocation must not happen (the intent is on record)
    await recordOperatorAction(audit, clock, user, {
      action: 'agent.credentials.revoke',
      target: { type: 'agent', id },
      reason,
      agentId: id,
    });
    await authenticator.revoke('agent', id, { by: user.id, reason });
    return context.json(await agentDetail(id), 200);
  });
}

/** Records a human action that does not go through the oversight service. */
export async function recordOperatorAction(
  audit: AuditLog,
  clock: () => number,
  user: UserRecordV1,
  action: Pick<OperatorActionEvent, 'action' | 'target' | 'reason'> & {
    agentId?: string;
    sessionId?: string;
  },
): Promise<void> {
  const id = randomUUID();
  await audit.append({
    v: 1,
    id,
    time: new Date(clock()).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: actorOf(user),
    action: action.action,
    target: action.target,
    reason: action.reason,
    sessionId: action.sessionId ?? '',
    agentId: action.agentId ?? '',
  });
}
