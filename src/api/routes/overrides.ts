/**
 * @module api/routes/overrides
 * `POST /v1/overrides` (admins): let one denied call run once if the agent retries it unchanged
 * (through the oversight service, which records it).
 */
import { routes } from '../api-routes.js';
import { actorOf } from '../caller.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

export function mountOverrideRoute(app: ControlApp, services: ControlServices): void {
  const { oversight } = services;

  app.openapi(routes.override, async (context) => {
    const user = userOf(context, 'admin');
    const { decisionId, reason, sessionId } = context.req.valid('json');
    const grant = await oversight.overrideDenial(decisionId, actorOf(user), reason, sessionId);
    return context.json({ ...grant }, 200);
  });
}
