/**
 * @module api/routes/policy
 * `GET /v1/policy` (viewers): the policy in force, the files it came from and how the last reload went.
 */
import { routes } from '../api-routes.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

export function mountPolicyRoute(app: ControlApp, services: ControlServices): void {
  app.openapi(routes.policy, async (context) => {
    userOf(context, 'viewer');
    return context.json(services.policy.status(), 200);
  });
}
