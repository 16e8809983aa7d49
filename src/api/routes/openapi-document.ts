/**
 * @module api/routes/openapi-document
 * `GET /v1/openapi.json`: the OpenAPI 3.1 document, generated from the routes mounted before it
 * (api-routes), with the two ways to authenticate: a bearer token and the console's session cookie.
 */
import { SESSION_COOKIE } from '../console-sessions.js';
import type { ControlApp } from './control-services.js';

/** Mounted after the routes, as the last `/v1` route; the document is generated from the registry when asked for. */
export function mountOpenApiDocument(app: ControlApp): void {
  app.doc31('/v1/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Reins control plane',
      version: '1',
      description:
        'Approvals, sessions, agents, audit and policy status. Errors: `{"error":{"code","message","details"}}`.',
    },
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'A user API token (`reins_u_…`), or for `POST /v1/decide` an agent credential',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'console', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'Console session from `POST /v1/login`; writes also need the `X-CSRF-Token` header',
  });
}
