/**
 * @module api/control-api
 * The control-plane HTTP API (Hono) and the web console it serves. Every human action goes through
 * the `Oversight` service (which checks roles again, applies it in every process and audits it as an
 * `operator-action`); the one write outside it, revoking an agent's credentials, is audited by its
 * route (routes/agents). Reads come from the stores and the audit log. Errors use one wire format
 * (api-errors). Each resource's handlers are in routes/; this file composes them on one app.
 */

import type { CheckpointKeys } from '../audit/checkpoint.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Oversight } from '../oversight/oversight.js';
import type { OpsStatus } from '../spec/ops.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import { serveConsole } from './console-assets.js';
import { ConsoleSessions } from './console-sessions.js';
import { type OidcSettings, OidcSignIn } from './oidc-sign-in.js';
import { mountAgentRoutes } from './routes/agents.js';
import { mountApprovalRoutes } from './routes/approvals.js';
import { mountAuditRoutes } from './routes/audit.js';
import { mountAuthRoutes } from './routes/auth.js';
import { type ComplianceSource, mountComplianceRoute } from './routes/compliance.js';
import type {
  ControlApp,
  ControlServices,
  PolicyStatusSource,
  RollbackService,
} from './routes/control-services.js';
import { mountDashboardRoute } from './routes/dashboard.js';
import { mountDecideRoute } from './routes/decide.js';
import { mountEventRoute } from './routes/events.js';
import { mountMiddleware, newControlApp } from './routes/middleware.js';
import { mountMonitorRoute } from './routes/monitor.js';
import { mountOidcRoutes } from './routes/oidc.js';
import { mountOpenApiDocument } from './routes/openapi-document.js';
import { mountOpsRoutes } from './routes/ops.js';
import { mountOverrideRoute } from './routes/overrides.js';
import { mountPolicyRoute } from './routes/policy.js';
import { mountPostureRoute, type PostureSource } from './routes/posture.js';
import { mountSessionRoutes } from './routes/sessions.js';
import type { UserStore } from './users.js';

export { recordOperatorAction } from './routes/agents.js';
export type {
  PolicyStatusSource,
  RollbackPlanView,
  RollbackReportView,
  RollbackService,
} from './routes/control-services.js';
export type { PostureSource } from './routes/posture.js';

export interface ControlApiOptions {
  readonly oversight: Oversight;
  readonly audit: AuditLog;
  readonly users: UserStore;
  readonly identity: IdentityStore;
  /** Verifies agent credentials for `POST /v1/decide` and revokes credentials. */
  readonly authenticator: Authenticator;
  readonly policy: PolicyStatusSource;
  /** Checks checkpoint signatures on verify; without it only hashes are compared. */
  readonly publicKey?: CheckpointKeys;
  /**
   * Plans and runs rollbacks (`POST /v1/sessions/{id}/rollback`) through the gateway's upstreams;
   * without it (a control plane started without the gateway) that route answers 503.
   */
  readonly rollback?: RollbackService;
  /** Sign-in through an OpenID Connect provider beside the tokens (`control.oidc`, secret resolved). */
  readonly oidc?: OidcSettings;
  /** Console sessions end after this much inactivity. Default 8 hours. */
  readonly sessionTtlMs?: number;
  /**
   * Set the console cookies `Secure` (serve over HTTPS, or behind a TLS proxy). Default false, but
   * always true when `oidc.redirectUri` is `https:`: the console is reached over HTTPS then, and a
   * cookie without `Secure` would leak the session to one plain-http request.
   */
  readonly secureCookies?: boolean;
  /** Largest request body. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Told about internal errors (hidden from callers). */
  readonly log?: (line: string) => void;
  readonly clock?: () => number;
  /**
   * The operational status of the process serving this API: `/healthz`, `/readyz` and `/metrics`
   * (unauthenticated, outside `/v1`) and the upstream health on the dashboard. Without it (a control
   * plane started without the gateway) those routes are absent and the dashboard says none was reported.
   */
  readonly ops?: OpsStatus;
  /** The last scheduled compliance scan (`GET /v1/compliance`); without it that route answers 503. */
  readonly compliance?: ComplianceSource;
  /**
   * The posture score of the deployment (`GET /v1/posture`), composed where the configuration is
   * known (`reins serve`); without it that route answers 503.
   */
  readonly posture?: PostureSource;
}

export const DEFAULT_SESSION_TTL_MS = 8 * 3_600_000;

export function createControlApi(options: ControlApiOptions): ControlApp {
  const clock = options.clock ?? Date.now;
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const services: ControlServices = {
    oversight: options.oversight,
    audit: options.audit,
    users: options.users,
    identity: options.identity,
    authenticator: options.authenticator,
    policy: options.policy,
    ...(options.publicKey ? { publicKey: options.publicKey } : {}),
    ...(options.rollback ? { rollback: options.rollback } : {}),
    ...(options.ops ? { ops: options.ops } : {}),
    sessions: new ConsoleSessions(sessionTtlMs, clock),
    sessionTtlMs,
    secureCookies: options.secureCookies === true || servedOverHttps(options.oidc),
    clock,
  };
  const app = newControlApp(options.log);
  mountMiddleware(app, services, options.maxBodyBytes ?? 1_048_576);
  // the order of the routes is the order of the OpenAPI document
  mountAuthRoutes(app, services);
  mountOidcRoutes(app, services, options.oidc ? new OidcSignIn(options.oidc) : undefined);
  mountDecideRoute(app, services);
  mountApprovalRoutes(app, services);
  mountSessionRoutes(app, services);
  mountAgentRoutes(app, services);
  mountOverrideRoute(app, services);
  mountAuditRoutes(app, services);
  mountPolicyRoute(app, services);
  mountEventRoute(app, services);
  mountDashboardRoute(app, services);
  mountComplianceRoute(app, options.compliance);
  mountPostureRoute(app, options.posture);
  mountMonitorRoute(app, services);
  mountOpenApiDocument(app);
  if (options.ops) mountOpsRoutes(app, options.ops);
  serveConsole(app);
  return app;
}

/** The provider sends browsers back to an `https:` console: its cookies must never travel in clear. */
function servedOverHttps(oidc: OidcSettings | undefined): boolean {
  return oidc !== undefined && new URL(oidc.redirectUri).protocol === 'https:';
}
