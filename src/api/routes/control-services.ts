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
import type { OpsStatus } from '../../spec/ops.js';
import type { Actor } from '../../spec/oversight.js';
import type { ToolRef } from '../../spec/tool-call.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { IdentityStore } from '../../store/state-stores.js';
import type { PolicyStatus } from '../api-routes.js';
import { type Caller, requireUser } from '../caller.js';
import type { ConsoleSessions } from '../console-sessions.js';
import type { BuiltinRole, HumanUser, UserStore } from '../users.js';

/** The policy in force and what the loader knows about it. */
export interface PolicyStatusSource {
  readonly current: PreparedPolicy;
  status(): PolicyStatus;
}

export type ControlEnv = { Variables: { caller: Caller } };

/** The control-plane app every route module mounts its handlers on. */
export type ControlApp = OpenAPIHono<ControlEnv>;

/**
 * Plans and runs rollbacks (issue 16): composed by `reins serve` from the gateway process, whose
 * upstreams run the compensations (rollback/rollback-service satisfies it). Answers with what
 * happened rather than throwing. Who may roll back is checked by the route.
 */
export interface RollbackService {
  plan(
    request: RollbackRequest,
  ): Promise<{ readonly status: 'planned'; readonly plan: RollbackPlanView } | RollbackRefusal>;
  run(
    request: RollbackRequest & { readonly actor: Actor; readonly reason: string; readonly force: boolean },
  ): Promise<
    | { readonly status: 'ran'; readonly report: RollbackReportView }
    | RollbackRefusal
    | { readonly status: 'conflicts'; readonly message: string; readonly plan: RollbackPlanView }
    | { readonly status: 'busy'; readonly message: string }
  >;
}

export interface RollbackRequest {
  readonly sessionId: string;
  readonly to?: string;
}

/** Nothing to roll back: the session, or the call `to` names, is not in the log. */
interface RollbackRefusal {
  readonly status: 'refused';
  readonly message: string;
}

/** A rollback plan as the service shows it (step arguments screened). */
export interface RollbackPlanView {
  readonly sessionId: string;
  readonly to?: string;
  readonly calls: readonly {
    readonly decisionId: string;
    readonly principal: { readonly agentId: string };
    readonly tool: ToolRef;
    readonly time: string;
    readonly status: 'undo' | 'undone' | 'nothing-to-undo' | 'cannot-undo';
    readonly reason?: string;
    readonly steps: readonly {
      readonly tool: string;
      readonly args: Record<string, unknown>;
      readonly withheld?: string;
    }[];
    readonly resources: readonly string[];
    readonly interrupted: boolean;
  }[];
  readonly conflicts: readonly {
    readonly decisionId: string;
    readonly resource: string;
    readonly other: {
      readonly decisionId: string;
      readonly sessionId: string;
      readonly agentId: string;
      readonly tool: ToolRef;
      readonly time: string;
    };
  }[];
}

export interface RollbackReportView {
  readonly rollbackId: string;
  readonly plan: RollbackPlanView;
  readonly results: readonly {
    readonly decisionId: string;
    readonly tool: string;
    readonly status:
      | 'undone'
      | 'already-undone'
      | 'nothing-to-undo'
      | 'cannot-undo'
      | 'failed'
      | 'not-reached';
    readonly detail?: string;
    readonly compensations: readonly string[];
  }[];
  readonly complete: boolean;
  readonly message: string;
}

/** The parts behind the handlers, with the defaults of `ControlApiOptions` applied. */
export interface ControlServices {
  readonly oversight: Oversight;
  readonly audit: AuditLog;
  readonly users: UserStore;
  readonly identity: IdentityStore;
  readonly authenticator: Authenticator;
  readonly policy: PolicyStatusSource;
  readonly publicKey?: CheckpointKeys;
  readonly rollback?: RollbackService;
  /** This process's operational status (upstream health for the dashboard), when it reports one. */
  readonly ops?: OpsStatus;
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
export function userOf(context: Context<ControlEnv>, role: BuiltinRole): HumanUser {
  return requireUser(callerOf(context), role);
}
