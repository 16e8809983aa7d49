/**
 * Fixed: `POST /v1/auth/oidc/logout` is reached with or without a live Reins session (the middleware
 * lets an unauthenticated caller through on this path only; a live session without its CSRF token is
 * still a 403). Without one it answers the provider's end-session URL without `id_token_hint` and
 * changes nothing server-side; the console goes there from "Log out", and its login page offers "Sign
 * out of <provider>" (test/console-oidc-browser.test.ts shows the shared-machine case end to end).
 *
 * ATTACK: logging out after the Reins session expired cannot end the provider's session.
 *
 * An OIDC console session ends when its ID token expires (often an hour), while the provider's own
 * session lasts longer. Logging out then answered 401 (the logout route needed a live session), so the
 * console could not learn the provider's end-session URL and showed its login page: the provider's
 * session lived on, and on a shared machine the next person's "Sign in with …" silently signed them in
 * as the previous person.
 *
 * Reproduce: sign in with an ID token that expires in 3 s, wait, POST /v1/auth/oidc/logout -> 401.
 *
 * EXPECTED SAFE BEHAVIOUR: the logout answers the provider's end-session URL (nothing sensitive in it:
 * no ID token), so the browser can end the provider's session; a logout that only returns a URL changes
 * nothing at Reins (another live session of the same person stays live), and a live session still
 * needs its CSRF token to be logged out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cookiesOf,
  type OidcDeployment,
  signInWithoutBrowser,
  startOidcDeployment,
} from '../support/oidc-deployment.js';

let deployment: OidcDeployment;

beforeAll(async () => {
  deployment = await startOidcDeployment();
}, 60_000);

afterAll(async () => {
  await deployment?.close();
});

async function signIn(username: string): Promise<string> {
  const answer = await signInWithoutBrowser(deployment, username);
  const response = await fetch(answer.callback, {
    redirect: 'manual',
    headers: { cookie: answer.transactionCookie },
  });
  expect(response.status).toBe(303);
  const cookie = cookiesOf(response).find((each) => each.startsWith('reins_console=') && each.length > 14);
  if (cookie === undefined) throw new Error('no session');
  return cookie;
}

async function me(cookie: string) {
  return fetch(`${deployment.controlUrl}/v1/me`, { headers: { cookie } });
}

function logout(headers: Record<string, string>) {
  return fetch(`${deployment.controlUrl}/v1/auth/oidc/logout`, { method: 'POST', headers });
}

describe('logging out after the Reins session ended', () => {
  it('still names the provider end-session URL (without the ID token), and changes nothing at Reins', async () => {
    deployment.idp.tamperIdToken = (claims) => ({ ...claims, exp: Math.floor(Date.now() / 1000) + 3 });
    let expiring: string;
    try {
      expiring = await signIn('alice');
    } finally {
      deployment.idp.tamperIdToken = undefined;
    }
    const { csrfToken } = (await (await me(expiring)).json()) as { csrfToken: string };
    const other = await signIn('alice'); // the same person's other, live session
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await me(expiring)).status).toBe(401); // the session ended with the ID token

    for (const headers of [{ cookie: expiring, 'x-csrf-token': csrfToken }, { cookie: expiring }, {}]) {
      const ended = await logout(headers);
      expect(ended.status).toBe(200);
      const { endSessionUrl } = (await ended.json()) as { endSessionUrl: string };
      const url = new URL(endSessionUrl);
      expect(url.origin).toBe(deployment.idp.issuer);
      expect(url.searchParams.get('client_id')).toBe('reins-console');
      expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${deployment.controlUrl}/`);
      expect(url.searchParams.has('id_token_hint')).toBe(false);
    }
    expect((await me(other)).status).toBe(200); // nothing changed at Reins

    // a live session is still logged out only with its CSRF token (a cross-site form cannot)
    expect((await logout({ cookie: other })).status).toBe(403);
    expect((await me(other)).status).toBe(200);
  }, 60_000);
});
