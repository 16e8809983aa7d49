/**
 * Fixed: every console cookie (transaction and session) is `Secure` whenever `control.oidc.redirectUri`
 * is `https:`, whatever `secureCookies` says (src/api/control-api.ts); docs/console.md and decision 0023
 * say so.
 *
 * ATTACK: an HTTPS deployment whose OIDC cookies are sent without `Secure`.
 *
 * `control.secureCookies` defaults to false, and nothing ties it to `control.oidc.redirectUri`: a
 * reins.yaml whose console is reached at `https://reins.example.com` (the redirect URI the provider
 * sends the browser back to) but that leaves out `secureCookies: true` starts fine and sets the
 * sign-in transaction cookie (`reins_oidc_tx`: PKCE verifier, state, nonce) and the console session
 * cookie (`reins_console`) without `Secure`. A network attacker who gets the browser to make one plain
 * `http://reins.example.com/...` request (any injected link or image, no HSTS on the host) receives the
 * console session id in clear and rides the session. The rest of `control.oidc` is strict
 * ("configuration is strict... fail-closed": http issuers/redirects are refused outside the
 * loopback), but this pairing is not checked.
 *
 * Reproduce: reins.yaml with `redirectUri: https://reins.example.com/v1/auth/oidc/callback` and no
 * `secureCookies`; GET /v1/auth/oidc/login -> `Set-Cookie: reins_oidc_tx=...; HttpOnly; SameSite=Lax`
 * with no `Secure`.
 *
 * EXPECTED SAFE BEHAVIOUR: either the configuration is refused (an `https:` redirect URI with
 * `secureCookies: false`), or the cookies are `Secure` whenever the redirect URI is `https:`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';
import { startTestIdp, type TestIdp } from '../support/oidc-idp.js';

let directory: string | undefined;
let idp: TestIdp | undefined;
let serve: RunningServe | undefined;

afterAll(async () => {
  await serve?.close();
  await idp?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('OIDC cookies on an https console', () => {
  it('never sets the transaction cookie without Secure when the redirect URI is https', async () => {
    const redirectUri = 'https://reins.example.com/v1/auth/oidc/callback';
    idp = await startTestIdp({
      clients: [{ clientId: 'reins-console', clientSecret: 's3cret-value', redirectUris: [redirectUri] }],
      users: [{ sub: 'alice', groups: ['reins-admins'], amr: ['pwd'] }],
    });
    directory = mkdtempSync(join(tmpdir(), 'reins-oidc-secure-'));
    writeFileSync(join(directory, 'client-secret'), 's3cret-value\n', { mode: 0o600 });
    writeFileSync(
      join(directory, 'policy.yaml'),
      'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: p }\nrules: []\n',
    );
    writeFileSync(
      join(directory, 'reins.yaml'),
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control:
  listen: { host: 127.0.0.1, port: 0 }
  oidc:
    issuer: ${idp.issuer}
    clientId: reins-console
    clientSecret: { file: client-secret }
    redirectUri: ${redirectUri}
    roles: { reins-admins: [admin] }
`,
    );
    let started: RunningServe;
    try {
      started = await startServe(join(directory, 'reins.yaml'), () => {});
    } catch (error) {
      // refusing this configuration is a fix too
      expect(String(error)).toMatch(/secureCookies/);
      return;
    }
    serve = started;
    const response = await fetch(`${started.controlUrl}/v1/auth/oidc/login`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const transaction = response.headers.getSetCookie().find((cookie) => cookie.startsWith('reins_oidc_tx='));
    expect(transaction).toBeDefined();
    expect(transaction).toMatch(/;\s*Secure/i);
  }, 60_000);
});
