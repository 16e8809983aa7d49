/**
 * @module api/routes/decide
 * `POST /v1/decide`: a dry run of the decision the gateway would make for one call (api-routes says
 * where it can differ). An agent decides for itself only; a viewer may ask for any principal.
 */
import { randomUUID } from 'node:crypto';
import { screenCall } from '../../harness/redaction-stage.js';
import { WindowCounters } from '../../policy/window-counters.js';
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
    const policy = services.policy.current;
    const call = { principal, sessionId, tool: request.tool, args: request.args, context: request.context };
    const decision = policy.evaluate({
      call,
      session: { id: sessionId, status, startedAt: now, history: [], labels: [] },
      counters: new WindowCounters(),
      now,
    });
    // the arguments are screened as the pipeline screens them: a call it blocks is never shown as allowed
    const screened = screenCall(policy.redaction, call, decision).decision;
    return context.json({ ...screened, dryRun: true as const }, 200);
  });
}
