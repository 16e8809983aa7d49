/**
 * @module api/routes/middleware
 * What runs around every handler of the control plane: invalid input, errors and unknown routes in
 * the one wire format (api-errors), the security headers, the body limit, JSON-only bodies, and who
 * is calling (decided once per request, before any handler).
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, toWireError } from '../api-errors.js';
import { identifyCaller } from '../caller.js';
import { securityHeaders } from '../security-headers.js';
import type { ControlApp, ControlEnv, ControlServices } from './control-services.js';

/** The app with its error handling; `log` is told about internal errors (hidden from callers). */
export function newControlApp(log?: (line: string) => void): ControlApp {
  const onInternal = (error: unknown) =>
    log?.(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);

  const app = new OpenAPIHono<ControlEnv>({
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
  return app;
}

/** The OpenID Connect sign-in steps, reached before there is a caller (routes/oidc). */
const OIDC_SIGN_IN = new Set(['/v1/auth/oidc/config', '/v1/auth/oidc/login', '/v1/auth/oidc/callback']);
/**
 * Logout is reached with or without a live session: one that already ended still needs the provider's
 * end-session URL (routes/oidc). A live session's CSRF check applies as everywhere.
 */
const OIDC_LOGOUT = '/v1/auth/oidc/logout';

/** Mounted before every route: headers, limits and the caller, in this order. */
export function mountMiddleware(app: ControlApp, services: ControlServices, maxBodyBytes: number): void {
  const { users, sessions, authenticator } = services;
  app.use('*', securityHeaders());
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: maxBodyBytes,
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
    const path = context.req.path;
    // these make the caller a user (token, OIDC sign-in) or describe the API: no caller yet
    if (path === '/v1/login' || path === '/v1/openapi.json' || OIDC_SIGN_IN.has(path)) return next();
    const caller = identifyCaller(context, { users, sessions, authenticator });
    if (path === OIDC_LOGOUT) {
      const known = await caller.catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'unauthenticated') return undefined;
        throw error; // a live session without its CSRF token stays a 403
      });
      if (known !== undefined) context.set('caller', known);
      return next();
    }
    context.set('caller', await caller);
    return next();
  });
}
