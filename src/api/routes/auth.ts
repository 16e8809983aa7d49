/**
 * @module api/routes/auth
 * `POST /v1/login`, `POST /v1/logout`, `GET /v1/me`: the console's session (an HttpOnly cookie opened
 * with a user API token, and its CSRF token), who the caller is and what the policy lets them do.
 */
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { ApiError } from '../api-errors.js';
import { routes } from '../api-routes.js';
import { SESSION_COOKIE } from '../console-sessions.js';
import { effectiveRoles, hashUserToken, USER_TOKEN_PREFIX, type UserRecordV1 } from '../users.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';
import { userMayRollBack } from './rollback.js';

export function mountAuthRoutes(app: ControlApp, services: ControlServices): void {
  const { users, sessions } = services;

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
      secure: services.secureCookies,
      path: '/',
      maxAge: Math.floor(services.sessionTtlMs / 1000),
    });
    return context.json(
      { user: viewOf(user), csrfToken: session.csrfToken, permissions: permissionsOf(user, services) },
      200,
    );
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
    return context.json(
      {
        user: viewOf(user),
        ...(session ? { csrfToken: session.csrfToken } : {}),
        permissions: permissionsOf(user, services),
      },
      200,
    );
  });
}

/** What the user may do beyond their built-in roles, under the policy in force (the console's buttons). */
function permissionsOf(user: UserRecordV1, services: ControlServices) {
  return { rollback: services.rollback !== undefined && userMayRollBack(user, services.policy.current) };
}

/** A user as the API shows them: never their token hash. */
function viewOf(user: UserRecordV1) {
  return {
    id: user.id,
    roles: user.roles,
    effectiveRoles: effectiveRoles(user.roles),
    createdAt: user.createdAt,
    createdBy: user.createdBy,
  };
}
