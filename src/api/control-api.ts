/**
 * @module api/control-api
 * The control-plane HTTP API (Hono) and the web console it serves. Every human action goes through
 * the `Oversight` service (which checks roles again, applies it in every process and audits it as an
 * `operator-action`); the one write outside it, revoking an agent's credentials, is audited here.
 * Reads come from the stores and the audit log. Errors use one wire format (api-errors).
 */

import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import type { CheckpointKeys } from '../audit/checkpoint.js';
import type { Authenticator } from '../auth/authenticator.js';
import { sessionTimeline } from '../inspect/session-timeline.js';
import type { Oversight, OversightEvent } from '../oversight/oversight.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { screenCall } from '../policy/screen-arguments.js';
import { WindowCounters } from '../policy/window-counters.js';
import type { OperatorActionEvent } from '../spec/audit-event.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import { ApiError, toWireError } from './api-errors.js';
import { type PolicyStatus, routes } from './api-routes.js';
import { actorOf, type Caller, identifyCaller, requireUser } from './caller.js';
import { serveConsole } from './console-assets.js';
import { ConsoleSessions, SESSION_COOKIE } from './console-sessions.js';
import { securityHeaders } from './security-headers.js';
import {
  effectiveRoles,
  hashUserToken,
  USER_TOKEN_PREFIX,
  type UserRecordV1,
  type UserStore,
} from './users.js';

/** The policy in force and what the loader knows about it. */
export interface PolicyStatusSource {
  readonly current: PreparedPolicy;
  status(): PolicyStatus;
}

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
  /** Console sessions end after this much inactivity. Default 8 hours. */
  readonly sessionTtlMs?: number;
  /** Set the console cookie `Secure` (serve over HTTPS, or behind a TLS proxy). Default false. */
  readonly secureCookies?: boolean;
  /** Largest request body. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /** Told about internal errors (hidden from callers). */
  readonly log?: (line: string) => void;
  readonly clock?: () => number;
}

type Env = { Variables: { caller: Caller } };

export const DEFAULT_SESSION_TTL_MS = 8 * 3_600_000;

export function createControlApi(options: ControlApiOptions): OpenAPIHono<Env> {
  const clock = options.clock ?? Date.now;
  const sessions = new ConsoleSessions(options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS, clock);
  const { oversight, audit, users, identity, authenticator } = options;
  const onInternal = (error: unknown) =>
    options.log?.(
      `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );

  const app = new OpenAPIHono<Env>({
    // invalid input is answered in the one wire format, naming the first offending field
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const path = issue?.path.join('.') || '(body)';
      throw new ApiError('invalid_input', `\`${path}\`: ${issue?.message ?? 'invalid'}`, {
        issues: result.error.issues.map((each) => ({ path: each.path.join('.'), message: each.message })),
      });
    },
  });
  app.onError((error, context) => {
    const { status, body } = toWireError(error, onInternal);
    if (status === 401) context.header('WWW-Authenticate', 'Bearer realm="reins"');
    return context.json(body, status);
  });
  app.notFound((context) =>
    context.json(
      { error: { code: 'not_found', message: `no route \`${context.req.method} ${context.req.path}\`` } },
      404,
    ),
  );
  app.use('*', securityHeaders());
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: options.maxBodyBytes ?? 1_048_576,
      onError: () => {
        throw new ApiError('payload_too_large', 'the request body is too large');
      },
    }),
  );
  // bodies are JSON only: an HTML form (which cannot send JSON cross-site) never reaches a handler
  app.use('/v1/*', async (context, next) => {
    const type = context.req.header('content-type');
    if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type)) {
      throw new ApiError('unsupported_media_type', 'send the body as `application/json`');
    }
    return next();
  });
  app.use('/v1/*', async (context, next) => {
    if (context.req.path === '/v1/login' || context.req.path === '/v1/openapi.json') return next();
    context.set('caller', await identifyCaller(context, { users, sessions, authenticator }));
    return next();
  });

  const caller = (context: Context<Env>) => context.get('caller');
  const userOf = (context: Context<Env>, role: 'viewer' | 'approver' | 'admin') =>
    requireUser(caller(context), role);

  app.openapi(routes.login, async (context) => {
    const { token } = context.req.valid('json');
    const user = token.startsWith(USER_TOKEN_PREFIX)
      ? await users.byTokenHash(hashUserToken(token))
      : undefined;
    if (user === undefined) throw new ApiError('unauthenticated', 'unknown or revoked API token');
    const session = sessions.open(user.id, user.tokenHash);
    setCookie(context, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: options.secureCookies === true,
      path: '/',
      maxAge: Math.floor((options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS) / 1000),
    });
    return context.json({ user: viewOf(user), csrfToken: session.csrfToken }, 200);
  });

  app.openapi(routes.logout, async (context) => {
    userOf(context, 'viewer');
    const cookie = getCookie(context, SESSION_COOKIE);
    if (cookie) sessions.close(cookie);
    deleteCookie(context, SESSION_COOKIE, { path: '/' });
    return context.body(null, 204);
  });

  app.openapi(routes.me, async (context) => {
    const user = userOf(context, 'viewer');
    // a console page that reloads gets its CSRF token again; bearer callers need none
    const cookie = getCookie(context, SESSION_COOKIE);
    const session =
      cookie && context.req.header('authorization') === undefined ? sessions.get(cookie) : undefined;
    return context.json({ user: viewOf(user), ...(session ? { csrfToken: session.csrfToken } : {}) }, 200);
  });

  app.openapi(routes.decide, async (context) => {
    const request = context.req.valid('json');
    const who = caller(context);
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
    const policy = options.policy.current;
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

  app.openapi(routes.listSessions, async (context) => {
    userOf(context, 'viewer');
    const query = context.req.valid('query');
    const list = await oversight.listSessions({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.agentId ? { agentId: query.agentId } : {}),
    });
    return context.json({ sessions: list }, 200);
  });

  app.openapi(routes.getSession, async (context) => {
    userOf(context, 'viewer');
    const { id } = context.req.valid('param');
    const session = await oversight.getSession(id);
    if (session === undefined) throw new ApiError('not_found', `unknown session \`${id}\``);
    return context.json(session, 200);
  });

  app.openapi(routes.timeline, async (context) => {
    userOf(context, 'viewer');
    const { id } = context.req.valid('param');
    const steps = await sessionTimeline(audit, id);
    return context.json(
      {
        steps: steps.map((step) => ({
          decisionId: step.decisionId,
          agentId: step.agentId,
          delegatedBy: [...step.delegatedBy],
          tool: step.tool,
          links: step.links.map((link) => ({ rel: link.rel, id: link.id })),
          ...(step.intent ? { intent: step.intent } : {}),
          ...(step.outcome ? { outcome: step.outcome } : {}),
        })),
      },
      200,
    );
  });

  const STATUS_OF = { pause: 'paused', resume: 'active', kill: 'killed' } as const;
  app.openapi(routes.setSessionStatus, async (context) => {
    const user = userOf(context, 'approver');
    const { id, action } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    return context.json(await oversight.setSessionStatus(id, STATUS_OF[action], actorOf(user), reason), 200);
  });

  app.openapi(routes.listAgents, async (context) => {
    userOf(context, 'viewer');
    return context.json({ agents: await identity.listAgents() }, 200);
  });

  const agentDetail = async (id: string) => {
    const agent = await identity.getAgent(id);
    if (agent === undefined) throw new ApiError('not_found', `unknown agent \`${id}\``);
    const revocations = (await identity.revocations(new Date(clock()))).filter(
      (revocation) => revocation.kind === 'agent' && revocation.id === id,
    );
    return { agent, revocations };
  };

  app.openapi(routes.getAgent, async (context) => {
    userOf(context, 'viewer');
    return context.json(await agentDetail(context.req.valid('param').id), 200);
  });

  app.openapi(routes.setAgentState, async (context) => {
    const user = userOf(context, 'admin');
    const { id, action } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    await agentDetail(id); // 404 before acting
    if (action === 'suspend') await oversight.suspendAgent(id, actorOf(user), reason);
    else await oversight.resumeAgent(id, actorOf(user), reason);
    return context.json(await agentDetail(id), 200);
  });

  app.openapi(routes.revokeCredentials, async (context) => {
    const user = userOf(context, 'admin');
    const { id } = context.req.valid('param');
    const { reason } = context.req.valid('json');
    await agentDetail(id);
    // audited before it takes effect: an unrecorded revocation must not happen (the intent is on record)
    await recordOperatorAction(audit, clock, user, {
      action: 'agent.credentials.revoke',
      target: { type: 'agent', id },
      reason,
      agentId: id,
    });
    await authenticator.revoke('agent', id, { by: user.id, reason });
    return context.json(await agentDetail(id), 200);
  });

  app.openapi(routes.override, async (context) => {
    const user = userOf(context, 'admin');
    const { decisionId, reason, sessionId } = context.req.valid('json');
    const grant = await oversight.overrideDenial(decisionId, actorOf(user), reason, sessionId);
    return context.json({ ...grant }, 200);
  });

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
    const report = await audit.verify(options.publicKey ? { publicKey: options.publicKey } : {});
    return context.json({ ...report, ...(report.firstBad ? { firstBad: { ...report.firstBad } } : {}) }, 200);
  });

  app.openapi(routes.policy, async (context) => {
    userOf(context, 'viewer');
    return context.json(options.policy.status(), 200);
  });

  app.openapi(routes.events, async (context) => {
    userOf(context, 'viewer');
    return streamSSE(context, async (stream) => {
      const queue: OversightEvent[] = [];
      let wake: (() => void) | undefined;
      const unsubscribe = oversight.subscribe((event) => {
        queue.push(event);
        wake?.();
      });
      stream.onAbort(() => {
        unsubscribe();
        wake?.();
      });
      await stream.writeSSE({ event: 'ready', data: '{}' });
      try {
        while (!stream.aborted && !stream.closed) {
          const event = queue.shift();
          if (event !== undefined) {
            await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
            continue;
          }
          // a comment every 15 s keeps proxies from closing an idle stream
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 15_000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          if (queue.length === 0 && !stream.aborted) await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

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

  serveConsole(app);
  return app;
}

function viewOf(user: UserRecordV1) {
  return {
    id: user.id,
    roles: user.roles,
    effectiveRoles: effectiveRoles(user.roles),
    createdAt: user.createdAt,
    createdBy: user.createdBy,
  };
}

/** Records a human action that does not go through the oversight service. */
export async function recordOperatorAction(
  audit: AuditLog,
  clock: () => number,
  user: UserRecordV1,
  action: Pick<OperatorActionEvent, 'action' | 'target' | 'reason'> & {
    agentId?: string;
    sessionId?: string;
  },
): Promise<void> {
  const id = randomUUID();
  await audit.append({
    v: 1,
    id,
    time: new Date(clock()).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: actorOf(user),
    action: action.action,
    target: action.target,
    reason: action.reason,
    sessionId: action.sessionId ?? '',
    agentId: action.agentId ?? '',
  });
}
