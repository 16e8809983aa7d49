/**
 * @module test/oidc-callback.test
 * The OpenID Connect callback of a real `reins serve` against a real provider (oidc-provider), with
 * fetch instead of a browser: a good answer opens a console session as `oidc:<issuer>:<sub>` with the
 * mapped roles; a wrong state, a replayed code, a missing or forged transaction cookie, and an ID
 * token re-signed by the provider for another issuer or another audience are clear 4xx and never a
 * session; a user whose groups map to no role is refused and the refusal is in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cookiesOf,
  type OidcDeployment,
  signInWithoutBrowser,
  startOidcDeployment,
} from './support/oidc-deployment.js';

let deployment: OidcDeployment;

beforeAll(async () => {
  deployment = await startOidcDeployment();
}, 60_000);

afterAll(async () => {
  await deployment?.close();
});

async function callback(url: URL, cookie: string | undefined): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

function sessionCookie(response: Response): string | undefined {
  return cookiesOf(response).find((cookie) => cookie.startsWith('reins_console=') && cookie.length > 14);
}

async function me(cookie: string): Promise<Response> {
  return fetch(`${deployment.controlUrl}/v1/me`, { headers: { cookie } });
}

describe('OIDC callback', () => {
  it('tells the console that sign-in with the provider is there', async () => {
    const response = await fetch(`${deployment.controlUrl}/v1/auth/oidc/config`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ enabled: true, name: 'Test IdP' });
  });

  it('opens a session for a mapped user, attributed to issuer and subject, and refuses the same code again', async () => {
    const answer = await signInWithoutBrowser(deployment, 'alice');
    const first = await callback(answer.callback, answer.transactionCookie);
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe('/');
    const session = sessionCookie(first);
    expect(session).toBeDefined();
    const who = (await (await me(session ?? '')).json()) as { user: { id: string; roles: string[] } };
    const issuerHost = new URL(deployment.idp.issuer).host;
    expect(who.user.id).toBe(`oidc:${issuerHost}:alice`);
    expect(who.user.roles).toEqual(['approver', 'finance-approvers']);

    const replayed = await callback(answer.callback, answer.transactionCookie);
    expect(replayed.status).toBe(401);
    expect(sessionCookie(replayed)).toBeUndefined();
    expect(await replayed.text()).toMatch(/refused the code: invalid_grant/);
  });

  it('logs out with the CSRF token only, and names the end-session URL of the provider with the ID token as hint', async () => {
    const answer = await signInWithoutBrowser(deployment, 'alice');
    const session = sessionCookie(await callback(answer.callback, answer.transactionCookie)) ?? '';
    const logout = (headers: Record<string, string>) =>
      fetch(`${deployment.controlUrl}/v1/auth/oidc/logout`, {
        method: 'POST',
        headers: { cookie: session, ...headers },
      });
    expect((await logout({})).status).toBe(403); // a cross-site form cannot log anyone out
    const { csrfToken } = (await (await me(session)).json()) as { csrfToken: string };
    const ended = await logout({ 'x-csrf-token': csrfToken });
    expect(ended.status).toBe(200);
    const { endSessionUrl } = (await ended.json()) as { endSessionUrl: string };
    const url = new URL(endSessionUrl);
    expect(url.origin).toBe(deployment.idp.issuer);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${deployment.controlUrl}/`);
    expect(url.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect((await me(session)).status).toBe(401);
  });

  it('refuses a wrong state, and a callback without its transaction cookie or with a forged one', async () => {
    const answer = await signInWithoutBrowser(deployment, 'alice');
    const wrongState = new URL(answer.callback);
    wrongState.searchParams.set('state', 'not-the-state-reins-sent');
    const refused = await callback(wrongState, answer.transactionCookie);
    expect(refused.status).toBe(401);
    expect(sessionCookie(refused)).toBeUndefined();
    expect(await refused.text()).toMatch(/state/);

    for (const cookie of [undefined, 'reins_oidc_tx=forged']) {
      const response = await callback(answer.callback, cookie);
      expect(response.status).toBe(400);
      expect(sessionCookie(response)).toBeUndefined();
      expect(await response.text()).toMatch(/sign in again/);
    }
  });

  it.each([
    [
      'another issuer',
      (claims: Record<string, unknown>) => ({ ...claims, iss: 'https://evil.example.com' }),
      /iss/,
    ],
    ['another audience', (claims: Record<string, unknown>) => ({ ...claims, aud: 'some-other-app' }), /aud/],
  ])('refuses an ID token for %s, signed with the provider key', async (_what, tamper, problem) => {
    const answer = await signInWithoutBrowser(deployment, 'alice');
    deployment.idp.tamperIdToken = tamper;
    try {
      const response = await callback(answer.callback, answer.transactionCookie);
      expect(response.status).toBe(401);
      expect(sessionCookie(response)).toBeUndefined();
      expect(await response.text()).toMatch(problem);
    } finally {
      deployment.idp.tamperIdToken = undefined;
    }
  });

  it('refuses a user whose groups map to no role, and records the refusal', async () => {
    const answer = await signInWithoutBrowser(deployment, 'bob');
    const response = await callback(answer.callback, answer.transactionCookie);
    expect(response.status).toBe(403);
    expect(sessionCookie(response)).toBeUndefined();
    expect(await response.text()).toMatch(/no Reins role/);

    const audit = await fetch(`${deployment.controlUrl}/v1/audit?kind=operator-action&order=desc`, {
      headers: { authorization: `Bearer ${deployment.adminToken}` },
    });
    const { records } = (await audit.json()) as {
      records: { event: { action: string; actor: { id: string }; reason: string } }[];
    };
    const refusal = records.find((record) => record.event.action === 'signin.refused');
    expect(refusal?.event.actor.id).toBe(`oidc:${new URL(deployment.idp.issuer).host}:bob`);
    expect(refusal?.event.reason).toMatch(/no Reins role.*staff/);
  });
});

describe('OIDC sign-in with the provider out of reach', () => {
  it('answers 503 with a page at login, opens nothing, and token logins go on', async () => {
    const unreachable = await startOidcDeployment();
    try {
      await unreachable.idp.close(); // before the first sign-in: discovery cannot happen
      const response = await fetch(`${unreachable.controlUrl}/v1/auth/oidc/login`, { redirect: 'manual' });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(await response.text()).toMatch(/identity provider cannot be reached/);
      expect(cookiesOf(response)).toEqual([]);
      const token = await fetch(`${unreachable.controlUrl}/v1/me`, {
        headers: { authorization: `Bearer ${unreachable.adminToken}` },
      });
      expect(token.status).toBe(200);
    } finally {
      await unreachable.close();
    }
  });
});
