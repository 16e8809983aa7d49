/**
 * @module api/routes/audit
 * `GET /v1/audit` and `POST /v1/audit/verify` (viewers): audit records by filter, and the check of the
 * hash chain and checkpoint signatures (hashes only when no public key is configured).
 */
import { routes } from '../api-routes.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

export function mountAuditRoutes(app: ControlApp, services: ControlServices): void {
  const { audit } = services;

  app.openapi(routes.queryAudit, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const records = await audit.query({
      limit: query.limit,
      order: query.order,
      ...(query.agentId ? { agentId: query.agentId } : {}),
      ...(query.sessionId ? { sessionId: query.sessionId } : {}),
      ...(query.tool ? { tool: query.tool } : {}),
      ...(query.effect ? { effect: query.effect } : {}),
      ...(query.kind ? { kind: query.kind } : {}),
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
      ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
      ...(query.beforeSeq !== undefined ? { beforeSeq: query.beforeSeq } : {}),
    });
    return context.json({ records: records.map((record) => ({ ...record })) }, 200);
  });

  app.openapi(routes.verifyAudit, async (context) => {
    userOf(context, 'viewer');
    const report = await audit.verify(services.publicKey ? { publicKey: services.publicKey } : {});
    return context.json({ ...report, ...(report.firstBad ? { firstBad: { ...report.firstBad } } : {}) }, 200);
  });
}
