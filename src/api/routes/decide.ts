/**
 * @module api/routes/decide
 * `POST /v1/decide`: a dry run of the decision the gateway would make for one call, through the one
 * decision entry point, against the named session's state as the deployment's audit log holds it
 * (inspect/dry-run; api-routes says what can still differ). An agent decides for itself only; a viewer
 * may ask for any principal.
 */
import { randomUUID } from 'node:crypto';
import { dryRun } from '../../inspect/dry-run.js';
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { type ControlApp, type ControlServices, callerOf, userOf } from './control-services.js';

export function mountDecideRoute(app: ControlApp, services: ControlServices): void {
  const { oversight, clock } = services;

  app.openapi(routes.decide, async (context) => {
    const request = context.req.valid('json');
    const who = callerOf(context);
    let principal = request.principal;
    let sessionId = request.sessionId ?? randomUUID();
    if (who.kind === 'agent') {
      // an agent decides only for itself: its principal and session come from its credential
      if (principal !== undefined) {
        throw new ApiError('invalid_input', '`principal` is taken from the credential; leave it out');
      }
      principal = who.principal;
      sessionId = who.sessionId;
    } else {
      userOf(context, 'viewer');
      if (principal === undefined)
        throw new ApiError('invalid_input', '`principal` is required for a human caller');
    }
    const now = clock();
    // a paused or killed session is refused here as it would be at the gateway
    const status = (await oversight.getSession(sessionId))?.status ?? 'active';
    const call = { principal, sessionId, tool: request.tool, args: request.args, context: request.context };
    const decision = await dryRun(services.policy.current, { call, now, log: services.audit, status });
    return context.json({ ...decision, dryRun: true as const }, 200);
  });
}
