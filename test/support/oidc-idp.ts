/**
 * @module test/support/oidc-idp
 * A real OpenID Connect provider for tests (`oidc-provider`, not hand-written): listens on
 * 127.0.0.1, registers confidential clients that must use PKCE (S256), and knows a few users with
 * their `groups` and the authentication methods (`amr`) their login counts as. Its login page is our
 * own minimal interaction (a user name, no password) through the provider's interaction API, so that
 * each user's `amr` lands in the ID token; consent is granted for every scope asked. `tamperIdToken`
 * re-signs the ID tokens the token endpoint returns with changed claims (another issuer, another
 * audience) with the provider's own key, as a compromised or confused provider would.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

export interface TestIdpUser {
  readonly sub: string;
  readonly groups: readonly string[];
  /** Authentication methods the login counts as, e.g. `['pwd']` or `['pwd', 'mfa']`. */
  readonly amr: readonly string[];
  readonly email?: string;
}

export interface TestIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
}

export interface TestIdp {
  /** The issuer identifier (`http://127.0.0.1:<port>`). */
  readonly issuer: string;
  /** Set to rewrite the claims of every ID token the token endpoint hands out; undefined: as issued. */
  tamperIdToken: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  close(): Promise<void>;
}

/** Starts the provider on a free port of 127.0.0.1. */
export async function startTestIdp(options: {
  readonly clients: readonly TestIdpClient[];
  readonly users: readonly TestIdpUser[];
}): Promise<TestIdp> {
  let handler: (request: IncomingMessage, response: import('node:http').ServerResponse) => void = (
    _request,
    response,
  ) => response.writeHead(503).end();
  const server: Server = createServer((request, response) => handler(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
  const users = new Map(options.users.map((user) => [user.sub, user]));
  const provider = new Provider(issuer, configuration(options.clients, users, jwk));
  const idp: TestIdp = {
    issuer,
    tamperIdToken: undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  provider.use(async (context, next) => {
    await next();
    const body = context.body as { id_token?: unknown } | undefined;
    if (context.path === '/token' && idp.tamperIdToken && typeof body?.id_token === 'string') {
      const claims = idp.tamperIdToken(decodeJwt(body.id_token));
      body.id_token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
        .sign(await importJWK(jwk, 'RS256'));
    }
  });
  const callback = provider.callback();
  handler = (request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    const interaction = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (interaction === null) return void callback(request, response);
    const done = interaction[2] !== undefined && request.method === 'POST';
    void (
      done ? finishLogin(provider, users, request, response) : loginPage(provider, request, response)
    ).catch((error: unknown) => response.writeHead(500).end(String(error)));
  };
  return idp;
}

function configuration(
  clients: readonly TestIdpClient[],
  users: ReadonlyMap<string, TestIdpUser>,
  jwk: Record<string, unknown>,
): Configuration {
  return {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: [...client.redirectUris],
      post_logout_redirect_uris: [...(client.postLogoutRedirectUris ?? [])],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [jwk as never] },
    cookies: { keys: ['test-idp-cookie-key'] },
    pkce: { required: () => true },
    // claims asked for by scope go into the ID token as well, as most providers' group mappers do
    conformIdTokenClaims: false,
    // the ID token carries a claim only if the scopes asked for name it: `openid` names amr and acr
    claims: {
      openid: ['sub', 'acr', 'amr', 'auth_time'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: {
      url: (_context: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: async (_context: unknown, sub: string) => {
      const user = users.get(sub);
      if (user === undefined) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          groups: [...user.groups],
          ...(user.email ? { email: user.email, email_verified: true } : {}),
        }),
      };
    },
    // first-party: every scope asked for is granted without a consent page
    // biome-ignore lint/suspicious/noExplicitAny: the provider's Koa context, untyped here
    loadExistingGrant: async (context: any) => {
      const oidc = context.oidc;
      const accountId = oidc.session?.accountId;
      if (oidc.client === undefined || accountId === undefined) return undefined;
      const existing = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client.clientId);
      if (existing) return oidc.provider.Grant.find(existing);
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId });
      grant.addOIDCScope(String(oidc.params?.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
  };
}

/** The login form: a user name (no password: the test decides who the user is). */
async function loginPage(
  provider: Provider,
  request: IncomingMessage,
  response: import('node:http').ServerResponse,
): Promise<void> {
  const details = await provider.interactionDetails(request, response);
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  response.end(`<!doctype html><html><head><title>Test IdP</title></head><body>
<h1>Test identity provider</h1>
<form method="post" action="/interaction/${details.uid}/login">
<label>User name <input name="username" autocomplete="off"></label>
<button type="submit">Sign in at the IdP</button>
</form></body></html>`);
}

async function finishLogin(
  provider: Provider,
  users: ReadonlyMap<string, TestIdpUser>,
  request: IncomingMessage,
  response: import('node:http').ServerResponse,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const username = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('username') ?? '';
  const user = users.get(username);
  if (user === undefined) {
    response.writeHead(401, { 'content-type': 'text/plain' }).end('no such user');
    return;
  }
  await provider.interactionFinished(
    request,
    response,
    { login: { accountId: user.sub, amr: [...user.amr] } },
    { mergeWithLastSubmission: false },
  );
}
