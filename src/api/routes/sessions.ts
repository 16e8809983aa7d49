/**
 * @module api/routes/sessions
 * `GET /v1/sessions`, `GET /v1/sessions/{id}`, `GET /v1/sessions/{id}/timeline`,
 * `POST /v1/sessions/{id}/rollback` (routes/rollback) and `POST /v1/sessions/{id}/pause|resume|kill`:
 * agent sessions, their steps and posture (which calls can be undone) from the audit log, and session
 * control (approvers, through the oversight service).
 */
import { sessionPosture, sessionTimeline } from '../../inspect/session-timeline.js';
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { actorOf } from '../caller.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';
import { mountRollbackRoute } from './rollback.js';

const STATUS_OF = { pause: 'paused', resume: 'active', kill: 'killed' } as const;

export function mountSessionRoutes(app: ControlApp, services: ControlServices): void {
  const { oversight, audit } = services;

  app.openapi(routes.listSessions, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const list = await oversight.listSessions({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.agentId ? { agentId: query.agentId } : {}),
    });
    return context.json({ sessions: list }, 200);
  });

  app.openapi(routes.getSession, async (context) => {
    userOf(context, 'viewer');
    const { id } = context.req.valid('param');
    const session = await oversight.getSession(id);
    if (session === undefined) throw new ApiError('not_found', `unknown session \`${id}\``);
    return context.json(session, 200);
  });

  app.openapi(routes.timeline, async (context) => {
    userOf(context, 'viewer');
    const { id } = context.req.valid('param');
    const steps = await sessionTimeline(audit, id, { policy: services.policy.current });
    return context.json(
      {
        steps: steps.map((step) => ({
          decisionId: step.decisionId,
          agentId: step.agentId,
          delegatedBy: [...step.delegatedBy],
          tool: step.tool,
          links: step.links.map((link) => ({ rel: link.rel, id: link.id })),
          ...(step.provenance ? { provenance: step.provenance } : {}),
          ...(step.intent ? { intent: step.intent } : {}),
          ...(step.outcome ? { outcome: step.outcome } : {}),
          ...(step.reversal ? { reversal: { ...step.reversal } } : {}),
          ...(step.changes !== undefined ? { changes: step.changes } : {}),
          ...(step.monitor.length > 0 ? { monitor: [...step.monitor] } : {}),
          ran: step.ran,
          ...(step.compensates ? { compensates: step.compensates } : {}),
          ...(step.undone
            ? { undone: { ...step.undone, compensations: [...step.undone.compensations] } }
            : {}),
        })),
        posture: { ...sessionPosture(steps) },
      },
      200,
    );
  });

  // before `/{action}`, which would take `rollback` for an action it does not know
  mountRollbackRoute(app, services);

  app.openapi(routes.setSessionStatus, async (context) => {
    const user = userOf(context, 'approver');
    const { id, action } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    return context.json(await oversight.setSessionStatus(id, STATUS_OF[action], actorOf(user), reason), 200);
  });
}
