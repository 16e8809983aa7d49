/**
 * Fixed: a person signed in by `sub` whose ID token carries a verified email gets it as an alias
 * (`Actor.aliases`, src/api/oidc-sign-in.ts); separation of duties compares every identity of both
 * voters (`sameHuman`/`actorIs` in src/spec/oversight.ts, used by applyVote, requirementsMet and the
 * owner check in src/oversight/store-oversight.ts): the second vote is a 409 conflict. Unit cases in
 * test/security/identity-comparison.test.ts.
 *
 * ATTACK: one human counts twice toward a two-person quorum — once with their local API token, once
 * signed in through the provider (default `userId: sub`).
 *
 * With the default `userId: sub`, an OIDC person is `oidc:<issuer>:<sub>`, and decision 0023 keeps
 * such ids apart from local user ids on purpose ("an OIDC person can never act as a local user of the
 * same name"). Separation of duties compares ids, so the same person holding a local approver token
 * (`alice@example.com`, issued before SSO was rolled out — the usual migration state) and an approver
 * group at the provider is two approvers: she approves a "two finance approvers" request alone, from
 * two browser tabs. The provider even vouches for the link (verified `email` = the local user's id),
 * but Reins ignores it. The docs mention only the owner case ("an owner signing in by `sub` is not
 * recognised as the owner"), not that quorums can be met by one person.
 *
 * Reproduce: local user alice@example.com (approver, API token) and provider user `alice` (groups
 * reins-approvers, email alice@example.com verified). A pending request needs quorum 2 of `approver`.
 * Vote 1 with the token, vote 2 with the OIDC console session -> the request is `approved`.
 *
 * EXPECTED SAFE BEHAVIOUR: the second vote of the same person is refused (409/403), e.g. because the
 * OIDC actor also carries the provider-verified email and separation of duties compares it too (or
 * local users are not allowed to vote beside a federated identity with the same verified email).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/api/users.js';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { cookiesOf, type OidcDeployment, signInWithoutBrowser } from '../support/oidc-deployment.js';
import { startTestIdp, type TestIdp } from '../support/oidc-idp.js';

let directory: string;
let idp: TestIdp;
let serve: RunningServe;
let controlUrl: string;
let aliceToken: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-oidc-double-'));
  const port = await freePort();
  controlUrl = `http://127.0.0.1:${port}`;
  idp = await startTestIdp({
    clients: [
      {
        clientId: 'reins-console',
        clientSecret: 'double-vote-secret',
        redirectUris: [`${controlUrl}/v1/auth/oidc/callback`],
      },
    ],
    users: [{ sub: 'alice', groups: ['reins-approvers'], amr: ['pwd', 'mfa'], email: 'alice@example.com' }],
  });
  writeFileSync(join(directory, 'client-secret'), 'double-vote-secret\n', { mode: 0o600 });
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
  listen: { host: 127.0.0.1, port: ${port} }
  oidc:
    issuer: ${idp.issuer}
    clientId: reins-console
    clientSecret: { file: client-secret }
    redirectUri: ${controlUrl}/v1/auth/oidc/callback
    scopes: [openid, email, groups]
    roles: { reins-approvers: [approver] }
`,
  );
  const users = new SqliteUserStore({ path: join(directory, 'reins.db') });
  aliceToken = (await createUser(users, { id: 'alice@example.com', roles: ['approver'], by: 'fixture' }))
    .token;
  await users.close();
  serve = await startServe(join(directory, 'reins.yaml'), () => {});
}, 60_000);

afterAll(async () => {
  await serve?.close();
  await idp?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('a two-person quorum', () => {
  it('is not met by one person voting with a local token and through the provider', async () => {
    const oversight = new SqliteOversightStore({ path: join(directory, 'reins.db') });
    const now = new Date();
    await oversight.approvals.create({
      id: 'two-person-request',
      callHash: 'hash',
      agentId: 'payments-bot',
      owner: 'olivia@example.com',
      delegatedBy: [],
      sessionId: 'session-1',
      tool: { server: 'pay', name: 'payments.send' },
      args: { amount: 5000 },
      reasons: ['payments over 1000 need two approvers'],
      requirements: [{ ruleId: 'big', approvers: ['approver'], quorum: 2, ownerMayApprove: false }],
      status: 'pending',
      votes: [],
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 600_000).toISOString(),
      updatedAt: now.toISOString(),
    } as never);
    await oversight.close();

    // vote 1: alice's local API token
    const first = await fetch(`${controlUrl}/v1/approvals/two-person-request/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'looks fine' }),
    });
    expect(first.status).toBe(200);

    // vote 2: the same alice, signed in through the provider (which vouches for alice@example.com)
    const answer = await signInWithoutBrowser({ controlUrl, idp } as unknown as OidcDeployment, 'alice');
    const signedIn = await fetch(answer.callback, {
      redirect: 'manual',
      headers: { cookie: answer.transactionCookie },
    });
    expect(signedIn.status).toBe(303);
    const cookie =
      cookiesOf(signedIn).find((each) => each.startsWith('reins_console=') && each.length > 14) ?? '';
    const me = (await (await fetch(`${controlUrl}/v1/me`, { headers: { cookie } })).json()) as {
      csrfToken: string;
      user: { id: string };
    };
    expect(me.user.id).toMatch(/^oidc:/);
    const second = await fetch(`${controlUrl}/v1/approvals/two-person-request/approve`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': me.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'still fine' }),
    });
    const record = (await (
      await fetch(`${controlUrl}/v1/approvals/two-person-request`, {
        headers: { authorization: `Bearer ${aliceToken}` },
      })
    ).json()) as { status: string; votes: { actor: { id: string } }[] };
    expect(record.status).toBe('pending'); // one human is one vote
    expect(second.status).toBeGreaterThanOrEqual(400);
  }, 60_000);
});
