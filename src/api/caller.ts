/**
 * @module api/caller
 * Who is calling the control plane, decided once per request: a human user (API token in
 * `Authorization: Bearer reins_u_…`, or the console's session cookie, opened with a token or by
 * OpenID Connect sign-in), or an agent (its Reins
 * credential, accepted only where an agent may call: `POST /v1/decide`). Cookie-authenticated writes
 * must carry the session's CSRF token; a request with neither gets 401.
 */
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Authenticator } from '../auth/authenticator.js';
import { bearerToken } from '../auth/bearer-token.js';
import type { Actor } from '../spec/oversight.js';
import type { Principal } from '../spec/tool-call.js';
import { ApiError } from './api-errors.js';
import { type ConsoleSessions, CSRF_HEADER, csrfMatches, SESSION_COOKIE } from './console-sessions.js';
import {
  type BuiltinRole,
  effectiveRoles,
  type HumanUser,
  hashUserToken,
  holdsRole,
  USER_TOKEN_PREFIX,
  type UserStore,
} from './users.js';

export type Caller =
  | { readonly kind: 'user'; readonly user: HumanUser; readonly via: 'token' | 'cookie' }
  | { readonly kind: 'agent'; readonly principal: Principal; readonly sessionId: string };

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CallerSources {
  readonly users: UserStore;
  readonly sessions: ConsoleSessions;
  readonly authenticator?: Authenticator;
}

/**
 * Authenticates the request; throws `unauthenticated` (401) or `csrf_failed` (403). `activity: false`
 * checks a console session without extending it (a response re-checking its caller, routes/events).
 */
export async function identifyCaller(
  context: Context,
  sources: CallerSources,
  { activity = true }: { readonly activity?: boolean } = {},
): Promise<Caller> {
  const authorization = context.req.header('authorization');
  if (authorization !== undefined) {
    // the gateway's reading too: the scheme in any case, one token without spaces
    const token = bearerToken(authorization);
    if (token === undefined) throw new ApiError('unauthenticated', 'use `Authorization: Bearer <token>`');
    if (token.startsWith(USER_TOKEN_PREFIX)) {
      const user = await sources.users.byTokenHash(hashUserToken(token));
      if (user === undefined) throw new ApiError('unauthenticated', 'unknown or revoked API token');
      return { kind: 'user', user, via: 'token' };
    }
    if (sources.authenticator === undefined) {
      throw new ApiError('unauthenticated', 'unknown or revoked API token');
    }
    const agent = await sources.authenticator.authenticate(token);
    if (!agent.ok) throw new ApiError('unauthenticated', `credential refused: ${agent.message}`);
    return { kind: 'agent', principal: agent.principal, sessionId: agent.sessionId };
  }
  const cookie = getCookie(context, SESSION_COOKIE);
  if (cookie !== undefined) {
    const session = activity ? sources.sessions.get(cookie) : sources.sessions.peek(cookie);
    // signed in through OIDC: the user the provider vouched for; else the stored user, and a deleted
    // user, or one whose token was replaced, is logged out everywhere
    const user = session?.federated?.user ?? (session && (await sources.users.get(session.userId)));
    const current = session?.federated !== undefined || user?.tokenHash === session?.tokenHash;
    if (session === undefined || user === undefined || !current) {
      if (session) sources.sessions.close(session.id);
      throw new ApiError('unauthenticated', 'the console session ended; log in again');
    }
    if (!SAFE_METHODS.has(context.req.method) && !csrfMatches(session, context.req.header(CSRF_HEADER))) {
      throw new ApiError('csrf_failed', `a write from the console must carry the \`X-CSRF-Token\` header`);
    }
    return { kind: 'user', user, via: 'cookie' };
  }
  throw new ApiError('unauthenticated', 'log in, or send an API token: `Authorization: Bearer <token>`');
}

/** The human behind the request, holding `needed`; agents and lesser roles get 403. */
export function requireUser(caller: Caller, needed: BuiltinRole): HumanUser {
  if (caller.kind !== 'user') {
    throw new ApiError('forbidden', 'agents may only call `POST /v1/decide`');
  }
  if (!holdsRole(caller.user.roles, needed)) {
    throw new ApiError('forbidden', `this needs the \`${needed}\` role`, {
      needed,
      held: caller.user.roles,
    });
  }
  return caller.user;
}

/** The oversight actor for a user: their id, every role they hold (hierarchy applied), their aliases. */
export function actorOf(user: HumanUser): Actor {
  const actor = { id: user.id, roles: effectiveRoles(user.roles) };
  return user.aliases?.length ? { ...actor, aliases: [...user.aliases] } : actor;
}
