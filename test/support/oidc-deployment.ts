/**
 * @module test/support/oidc-deployment
 * A real `reins serve` (in-process, no upstreams) whose console signs humans in through the test
 * identity provider (test/support/oidc-idp.ts, oidc-provider): `control.oidc` maps the IdP groups
 * `reins-approvers` to `approver` + `finance-approvers` and `reins-admins` to `admin`; a local admin
 * user with an API token reads the audit log. `signInWithoutBrowser` walks the redirects with fetch
 * (cookies kept by hand) up to the provider's answer, for API-level tests of the callback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '../../src/api/users.js';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { startTestIdp, type TestIdp, type TestIdpUser } from './oidc-idp.js';

export const OIDC_USERS: readonly TestIdpUser[] = [
  { sub: 'alice', groups: ['reins-approvers', 'staff'], amr: ['pwd', 'mfa'], email: 'alice@example.com' },
  { sub: 'bob', groups: ['staff'], amr: ['pwd', 'mfa'] },
  { sub: 'carol', groups: ['reins-admins'], amr: ['pwd'] },
];

export interface OidcDeployment {
  readonly idp: TestIdp;
  readonly serve: RunningServe;
  readonly controlUrl: string;
  /** A local admin's API token (reads the audit log). */
  readonly adminToken: string;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startOidcDeployment(options: { requireMfa?: boolean } = {}): Promise<OidcDeployment> {
  const directory = mkdtempSync(join(tmpdir(), 'reins-oidc-'));
  const controlPort = await freePort();
  const controlUrl = `http://127.0.0.1:${controlPort}`;
  const idp = await startTestIdp({
    clients: [
      {
        clientId: 'reins-console',
        clientSecret: 'console-secret-for-tests',
        redirectUris: [`${controlUrl}/v1/auth/oidc/callback`],
        postLogoutRedirectUris: [`${controlUrl}/`],
      },
    ],
    users: OIDC_USERS,
  });
  writeFileSync(join(directory, 'client-secret'), 'console-secret-for-tests\n', { mode: 0o600 });
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: oidc }\nrules: []\n',
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
  listen: { host: 127.0.0.1, port: ${controlPort} }
  oidc:
    issuer: ${idp.issuer}
    displayName: Test IdP
    clientId: reins-console
    clientSecret: { file: client-secret }
    redirectUri: ${controlUrl}/v1/auth/oidc/callback
    scopes: [openid, email, groups]
    rolesClaim: groups
    roles:
      reins-approvers: [approver, finance-approvers]
      reins-admins: [admin]
    requireMfa: ${options.requireMfa === true}
`,
  );
  const users = new SqliteUserStore({ path: join(directory, 'reins.db') });
  const adminToken = (await createUser(users, { id: 'root@example.com', roles: ['admin'], by: 'fixture' }))
    .token;
  await users.close();
  const logs: string[] = [];
  let serve: RunningServe;
  try {
    serve = await startServe(join(directory, 'reins.yaml'), (line) => logs.push(line));
  } catch (error) {
    await idp.close();
    throw error;
  }
  return {
    idp,
    serve,
    controlUrl,
    adminToken,
    logs,
    close: async () => {
      await serve.close();
      await idp.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The provider's redirect back to the console (code, state), and the transaction cookie Reins set. */
export interface ProviderAnswer {
  readonly callback: URL;
  /** `reins_oidc_tx=<sealed>`, as the browser would send it back. */
  readonly transactionCookie: string;
}

/** Begins a sign-in at Reins and logs `username` in at the provider, following redirects by hand. */
export async function signInWithoutBrowser(
  deployment: OidcDeployment,
  username: string,
): Promise<ProviderAnswer> {
  const begin = await fetch(`${deployment.controlUrl}/v1/auth/oidc/login`, { redirect: 'manual' });
  if (begin.status !== 302) throw new Error(`login answered ${begin.status}: ${await begin.text()}`);
  const transactionCookie = cookiesOf(begin).find((cookie) => cookie.startsWith('reins_oidc_tx='));
  if (transactionCookie === undefined) throw new Error('no transaction cookie');
  const jar = new Map<string, string>();
  let location = begin.headers.get('location') ?? '';
  for (let hop = 0; hop < 10; hop++) {
    const url = new URL(location, deployment.idp.issuer);
    if (url.href.startsWith(`${deployment.controlUrl}/`)) return { callback: url, transactionCookie };
    const interaction = /^\/interaction\/[^/]+$/.test(url.pathname);
    const response = await fetch(interaction ? `${url.href}/login` : url.href, {
      redirect: 'manual',
      method: interaction ? 'POST' : 'GET',
      headers: {
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(interaction ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(interaction ? { body: new URLSearchParams({ username }).toString() } : {}),
    });
    for (const cookie of cookiesOf(response)) {
      const [name, ...value] = cookie.split('=');
      if (name) jar.set(name, value.join('='));
    }
    location = response.headers.get('location') ?? '';
    if (location === '')
      throw new Error(`the provider answered ${response.status}: ${await response.text()}`);
  }
  throw new Error('too many redirects');
}

/** `name=value` of each Set-Cookie of a response. */
export function cookiesOf(response: Response): string[] {
  return response.headers.getSetCookie().map((header) => header.split(';')[0] ?? '');
}

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
