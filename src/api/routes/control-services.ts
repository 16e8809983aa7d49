/**
 * @module api/routes/control-services
 * What every route module of the control plane works with: the one app they mount their handlers on
 * (its caller set per request by the middleware), the stores and services behind it, resolved once by
 * `createControlApi`, and the role check every handler starts with.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { CheckpointKeys } from '../../audit/checkpoint.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Oversight } from '../../oversight/oversight.js';
import type { PreparedPolicy } from '../../policy/prepared-policy.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { IdentityStore } from '../../store/state-stores.js';
import type { PolicyStatus } from '../api-routes.js';
import { type Caller, requireUser } from '../caller.js';
import type { ConsoleSessions } from '../console-sessions.js';
import type { BuiltinRole, UserRecordV1, UserStore } from '../users.js';

/** The policy in force and what the loader knows about it. */
export interface PolicyStatusSource {
  readonly current: PreparedPolicy;
  status(): PolicyStatus;
}

export type ControlEnv = { Variables: { caller: Caller } };

/** The control-plane app every route module mounts its handlers on. */
export type ControlApp = OpenAPIHono<ControlEnv>;

/** The parts behind the handlers, with the defaults of `ControlApiOptions` applied. */
export interface ControlServices {
  readonly oversight: Oversight;
  readonly audit: AuditLog;
  readonly users: UserStore;
  readonly identity: IdentityStore;
  readonly authenticator: Authenticator;
  readonly policy: PolicyStatusSource;
  readonly publicKey?: CheckpointKeys;
  readonly sessions: ConsoleSessions;
  readonly sessionTtlMs: number;
  readonly secureCookies: boolean;
  readonly clock: () => number;
}

/** Who is calling (set by the middleware for every `/v1` route but login and the document). */
export function callerOf(context: Context<ControlEnv>): Caller {
  return context.get('caller');
}

/** The human behind the request, holding `role`; agents and lesser roles get 403. */
export function userOf(context: Context<ControlEnv>, role: BuiltinRole): UserRecordV1 {
  return requireUser(callerOf(context), role);
}
