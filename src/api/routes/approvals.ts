/**
 * @module api/routes/approvals
 * `GET /v1/approvals`, `GET /v1/approvals/{id}`, `POST /v1/approvals/{id}/approve|deny`: held calls
 * waiting for a human, and the votes on them (through the oversight service, which checks who may vote).
 */
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { actorOf } from '../caller.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

export function mountApprovalRoutes(app: ControlApp, services: ControlServices): void {
  const { oversight } = services;

  app.openapi(routes.listApprovals, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const approvals = await oversight.listApprovals({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.sessionId ? { sessionId: query.sessionId } : {}),
    });
    return context.json({ approvals }, 200);
  });

  app.openapi(routes.getApproval, async (context) => {
    userOf(context, 'viewer');
    const { id } = context.req.valid('param');
    const record = await oversight.getApproval(id);
    if (record === undefined) throw new ApiError('not_found', `unknown approval request \`${id}\``);
    return context.json(record, 200);
  });

  for (const [name, approved] of [
    ['approve', true],
    ['deny', false],
  ] as const) {
    app.openapi(routes[name], async (context) => {
      // any user may try: whether their vote counts depends on the roles the request's rule names
      // (`approver`, or e.g. `finance-approvers`), which the oversight service checks
      const user = userOf(context, 'viewer');
      const { id } = context.req.valid('param');
      const { reason } = context.req.valid('json');
      return context.json(await oversight.voteApproval(id, actorOf(user), { approved, reason }), 200);
    });
  }
}
