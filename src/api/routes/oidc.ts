/**
 * @module api/routes/oidc
 * Sign-in through an OpenID Connect provider (decision 0023), beside the API tokens:
 * `GET /v1/auth/oidc/config` (does the console show "Sign in with …"), `GET /v1/auth/oidc/login`
 * (to the provider, the transaction sealed in a short-lived cookie), `GET /v1/auth/oidc/callback`
 * (code exchanged and checked, the user admitted by their groups, a console session opened) and
 * `POST /v1/auth/oidc/logout` (the session ended, and the provider's end-session URL to go to — also
 * when the Reins session had already ended, so the provider's can still be ended). The
 * callback is reached by the browser, so its failures are a small page with a clear status; a
 * provider-authenticated user who is refused (no role, no second factor) is recorded in the audit log
 * as `signin.refused` (a few times per identity and window: signin-refusals), and every sign-in as
 * `signin.oidc`.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { ApiError, toWireError } from '../api-errors.js';
import type { Caller } from '../caller.js';
import { SESSION_COOKIE } from '../console-sessions.js';
import {
  admitOidcUser,
  issuerLabel,
  type OidcSignIn,
  openTransaction,
  TRANSACTION_TTL_MS,
} from '../oidc-sign-in.js';
import { RefusalBudget } from '../signin-refusals.js';
import type { HumanUser } from '../users.js';
import { type ControlApp, type ControlServices, userOf } from './control-services.js';

/** The transaction cookie: only the callback path ever receives it. */
export const TRANSACTION_COOKIE = 'reins_oidc_tx';
const COOKIE_PATH = '/v1/auth/oidc';

export function mountOidcRoutes(
  app: ControlApp,
  services: ControlServices,
  oidc: OidcSignIn | undefined,
): void {
  app.get('/v1/auth/oidc/config', (context) =>
    context.json(oidc ? { enabled: true, name: oidc.displayName } : { enabled: false }, 200),
  );
  // a write (CSRF token checked by the middleware, like every console write): ends the Reins session
  // and says where the browser goes to end the provider's
  app.post('/v1/auth/oidc/logout', async (context) => {
    if ((context.get('caller') as Caller | undefined) === undefined) {
      // the Reins session already ended (expired, logged out in another tab), but the provider's may
      // live on, and the next "Sign in with…" on a shared machine would silently be its person's. So
      // the end-session URL still comes back — without `id_token_hint` (there is no token to give;
      // the URL is public discovery data) — and nothing changes here but a stale cookie forgotten.
      deleteCookie(context, SESSION_COOKIE, { path: '/' });
      const endSession = oidc ? await oidc.endSessionUrl(undefined) : undefined;
      return context.json({ endSessionUrl: endSession ?? null }, 200);
    }
    userOf(context, 'viewer');
    const cookie = getCookie(context, SESSION_COOKIE);
    const session = cookie === undefined ? undefined : services.sessions.get(cookie);
    if (cookie !== undefined) services.sessions.close(cookie);
    deleteCookie(context, SESSION_COOKIE, { path: '/' });
    const federated = session?.federated;
    const endSession = federated && oidc ? await oidc.endSessionUrl(federated.idToken) : undefined;
    return context.json({ endSessionUrl: endSession ?? null }, 200);
  });

  if (oidc === undefined) return;
  const refusals = new RefusalBudget(services.clock);

  app.get('/v1/auth/oidc/login', async (context) => {
    let begun: { url: string; cookie: string };
    try {
      begun = await oidc.begin('/', services.clock());
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return failurePage(context, error); // e.g. the provider cannot be reached (503)
    }
    const { url, cookie } = begun;
    // Lax, not Strict: the provider's redirect back is a cross-site navigation that must carry it
    setCookie(context, TRANSACTION_COOKIE, cookie, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: services.secureCookies,
      path: COOKIE_PATH,
      maxAge: TRANSACTION_TTL_MS / 1000,
    });
    return context.redirect(url, 302);
  });

  app.get('/v1/auth/oidc/callback', async (context) => {
    const sealed = getCookie(context, TRANSACTION_COOKIE);
    // one use: whatever happens next, the browser forgets the transaction
    deleteCookie(context, TRANSACTION_COOKIE, { path: COOKIE_PATH });
    try {
      const transaction =
        sealed === undefined ? undefined : openTransaction(oidc.key, sealed, services.clock());
      if (transaction === undefined) {
        throw new ApiError(
          'invalid_input',
          'this sign-in was not started here, or took too long; sign in again from the console',
        );
      }
      const query = new URL(context.req.url).searchParams;
      const answer = await oidc.finish(query, transaction);
      const user = await admit(answer.claims, oidc, services, refusals);
      const session = services.sessions.openFederated(user, answer.expiresAtMs, answer.idToken);
      setCookie(context, SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: services.secureCookies,
        path: '/',
        maxAge: Math.max(1, Math.floor((session.expiresAtMs - services.clock()) / 1000)),
      });
      return context.redirect(transaction.returnTo, 303);
    } catch (error) {
      // the caller's failures get the page; ours (the audit log unavailable...) the usual error answer
      if (!(error instanceof ApiError)) throw error;
      return failurePage(context, error);
    }
  });
}

/** The stored-user shape for a signed-in human, or a 403 recorded as `signin.refused`. */
async function admit(
  claims: Record<string, unknown>,
  oidc: OidcSignIn,
  services: ControlServices,
  refusals: RefusalBudget,
): Promise<HumanUser> {
  const admission = admitOidcUser(claims, oidc.settings);
  const issuer = `oidc:${issuerLabel(oidc.settings.issuer)}`;
  if (!admission.ok) {
    // recorded within a budget: anyone with an account at the provider can be refused, again and again
    const verdict = admission.id === undefined ? undefined : refusals.take(admission.id);
    if (admission.id !== undefined && verdict?.record) {
      const earlier = verdict.unrecorded
        ? ` (${verdict.unrecorded} earlier refusals of this identity were not recorded)`
        : '';
      await record(services, admission.id, 'signin.refused', `${admission.reason}${earlier}`);
    }
    throw new ApiError(
      'forbidden',
      `signed in at the identity provider, but refused by Reins: ${admission.reason}`,
    );
  }
  const { id, roles, aliases } = admission.user;
  const known = aliases ? `; also ${aliases.join(', ')} (verified email)` : '';
  await record(
    services,
    id,
    'signin.oidc',
    `groups ${admission.groups.join(', ')}; roles ${roles.join(', ')}${known}`,
  );
  return {
    v: 1,
    id,
    roles,
    tokenHash: '',
    createdAt: new Date(services.clock()).toISOString(),
    createdBy: issuer,
    ...(aliases ? { aliases } : {}),
  };
}

/** An `operator-action` about a sign-in: who (as the provider named them) and what Reins made of it. */
async function record(
  services: ControlServices,
  userId: string,
  action: string,
  reason: string,
): Promise<void> {
  const id = randomUUID();
  await services.audit.append({
    v: 1,
    id,
    time: new Date(services.clock()).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: { id: userId, roles: [] },
    action,
    target: { type: 'user', id: userId },
    reason,
    sessionId: '',
    agentId: '',
  });
}

/** A failed sign-in as a page for the person in the browser (the status says what kind of failure). */
async function failurePage(context: Context, error: ApiError): Promise<Response> {
  const { status, body } = toWireError(error);
  const page = html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Sign-in · Reins console</title>
    <link rel="stylesheet" href="/console/app.css" />
  </head>
  <body>
    <main>
      <div class="card login" data-testid="signin-refused">
        <h1>${status === 403 ? 'Sign-in refused' : 'Sign-in failed'}</h1>
        <p data-testid="signin-refused-reason">${body.error.message}</p>
        <p><a href="/">Back to the console</a></p>
      </div>
    </main>
  </body>
</html>`;
  return context.html(page, status);
}
