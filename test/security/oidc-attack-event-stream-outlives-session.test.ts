/**
 * Fixed: `GET /v1/events` checks its caller again before every event and keep-alive (the console
 * session not logged out or expired, without counting as activity; the API token not rotated or
 * deleted; still a viewer) and ends the stream when that fails (src/api/routes/events.ts,
 * `ConsoleSessions.peek`). Token and token-session cases: test/control-api.test.ts "live events".
 *
 * ATTACK: the console's live event stream outlives the OIDC session it was opened with.
 *
 * Decision 0023 / docs/console.md: an OIDC console session "ends, whatever the activity, when the ID
 * token it was opened with expires", logout "ends the Reins session", and "removing someone from a
 * group at the provider takes effect at their next sign-in, at the latest when the ID token expires".
 * `GET /v1/events` (server-sent events: approval requests with their tool and arguments summary,
 * votes, session pauses/kills) authenticates the caller once, when the stream opens, and then streams
 * forever (keep-alives every 15 s keep proxies from closing it). A person who opens the stream keeps
 * receiving every oversight event after they log out, after their ID token expired, and after they
 * were removed from the group — for as long as they keep the connection open.
 *
 * Reproduce: sign in through the provider (real oidc-provider), open /v1/events with the session
 * cookie, log out (or let the ID token expire); /v1/me is 401, yet a session paused by an admin
 * afterwards still arrives on the open stream.
 *
 * EXPECTED SAFE BEHAVIOUR: the stream ends when its session ends (logout, ID token expiry): no event
 * that happens after that is delivered on it.
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

/** Opens /v1/events; `next(ms)` is the text received within ms, or '' if the stream ended (with `ended`). */
async function openEvents(cookie: string) {
  const controller = new AbortController();
  const response = await fetch(`${deployment.controlUrl}/v1/events`, {
    headers: { cookie },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let ended = false;
  let buffered = '';
  let pending: Promise<void> | undefined;
  const pump = () => {
    pending ??= reader
      .read()
      .then(({ done, value }) => {
        if (done) ended = true;
        else buffered += decoder.decode(value, { stream: true });
      })
      .catch(() => {
        ended = true;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const until = async (test: (text: string) => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!test(buffered) && !ended && Date.now() < deadline) {
      await Promise.race([pump(), new Promise((resolve) => setTimeout(resolve, deadline - Date.now()))]);
    }
    return buffered;
  };
  return {
    until,
    get ended() {
      return ended;
    },
    close: () => controller.abort(),
  };
}

async function pauseSession(id: string) {
  const response = await fetch(`${deployment.controlUrl}/v1/sessions/${id}/pause`, {
    method: 'POST',
    headers: { authorization: `Bearer ${deployment.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'attack test' }),
  });
  expect(response.status).toBe(200);
}

async function me(cookie: string) {
  return (await fetch(`${deployment.controlUrl}/v1/me`, { headers: { cookie } })).status;
}

describe('the event stream of an OIDC session', () => {
  it('stops delivering events once the session is logged out', async () => {
    const cookie = await signIn('alice');
    const events = await openEvents(cookie);
    try {
      expect(await events.until((text) => text.includes('event: ready'), 5_000)).toContain('event: ready');
      const { csrfToken } = (await (
        await fetch(`${deployment.controlUrl}/v1/me`, { headers: { cookie } })
      ).json()) as { csrfToken: string };
      const logout = await fetch(`${deployment.controlUrl}/v1/auth/oidc/logout`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrfToken },
      });
      expect(logout.status).toBe(200);
      expect(await me(cookie)).toBe(401); // the session is over

      await pauseSession('after-logout-session');
      const text = await events.until((received) => received.includes('after-logout-session'), 3_000);
      expect(text).not.toContain('after-logout-session');
    } finally {
      events.close();
    }
  }, 60_000);

  it('stops delivering events once the ID token has expired', async () => {
    // the provider issues a short-lived ID token (as one with `exp` a few seconds ahead)
    deployment.idp.tamperIdToken = (claims) => ({ ...claims, exp: Math.floor(Date.now() / 1000) + 3 });
    let cookie: string;
    try {
      cookie = await signIn('alice');
    } finally {
      deployment.idp.tamperIdToken = undefined;
    }
    const events = await openEvents(cookie);
    try {
      expect(await events.until((text) => text.includes('event: ready'), 5_000)).toContain('event: ready');
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      expect(await me(cookie)).toBe(401); // the session ended with the ID token

      await pauseSession('after-expiry-session');
      const text = await events.until((received) => received.includes('after-expiry-session'), 3_000);
      expect(text).not.toContain('after-expiry-session');
    } finally {
      events.close();
    }
  }, 60_000);
});
