/**
 * @module api/oidc-sign-in.test
 * OpenID Connect sign-in without a provider: the `control.oidc` configuration (strict, fail closed),
 * how ID token claims become a Reins user (stable id, roles from the configured claim, MFA), and the
 * sealed transaction cookie that carries PKCE verifier, state and nonce between redirect and callback.
 */
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../spec/gateway-config.js';
import { type OidcConfig, OidcConfigSchema } from '../spec/oidc-config.js';
import { ConsoleSessions } from './console-sessions.js';
import { admitOidcUser, openTransaction, sealTransaction, transactionKey } from './oidc-sign-in.js';

const base = {
  issuer: 'https://login.example.com/realms/ops',
  clientId: 'reins-console',
  clientSecret: { env: 'REINS_OIDC_SECRET' },
  redirectUri: 'https://reins.example.com/v1/auth/oidc/callback',
  roles: { 'reins-admins': ['admin'], finance: ['approver', 'finance-approvers'], ops: ['viewer'] },
};

function config(overrides: Record<string, unknown> = {}): OidcConfig {
  return OidcConfigSchema.parse({ ...base, ...overrides });
}

describe('control.oidc configuration', () => {
  it('fills the defaults and sits under `control` of a gateway configuration', () => {
    const parsed = config();
    expect(parsed.scopes).toEqual(['openid', 'email', 'profile']);
    expect(parsed.rolesClaim).toBe('groups');
    expect(parsed.userId).toBe('sub');
    expect(parsed.requireMfa).toBe(false);
    const gateway = GatewayConfigSchema.parse({
      apiVersion: 'reins.dev/v1',
      kind: 'Gateway',
      policy: 'policy.yaml',
      control: { oidc: base },
    });
    expect(gateway.control.oidc?.clientId).toBe('reins-console');
  });

  it.each([
    ['an unknown field', { groupsClaim: 'groups' }],
    ['an inline secret', { clientSecret: 'hunter2' }],
    ['a plain-http issuer off the loopback', { issuer: 'http://login.example.com' }],
    ['scopes without openid', { scopes: ['email'] }],
    ['no role mapping', { roles: {} }],
    ['a group mapped to no role', { roles: { ops: [] } }],
    ['a malformed role', { roles: { ops: ['Admin Team'] } }],
    ['an unknown user id claim', { userId: 'name' }],
  ])('refuses %s', (_what, overrides) => {
    expect(OidcConfigSchema.safeParse({ ...base, ...overrides }).success).toBe(false);
  });

  it('accepts a plain-http issuer on the loopback (a provider on the same machine) and a public client', () => {
    const { clientSecret: _secret, ...publicClient } = base;
    expect(OidcConfigSchema.safeParse({ ...publicClient, issuer: 'http://127.0.0.1:4000' }).success).toBe(
      true,
    );
    expect(OidcConfigSchema.safeParse({ ...base, issuer: 'http://localhost:4000/' }).success).toBe(true);
  });
});

describe('admitting a signed-in user', () => {
  const claims = { iss: base.issuer, sub: 'f3a9-77', email: 'Ana@Example.com', email_verified: true };

  it('maps the groups in the configured claim to Reins roles, and names the user by issuer and subject', () => {
    const admitted = admitOidcUser({ ...claims, groups: ['finance', 'ops', 'unrelated'] }, config());
    expect(admitted).toEqual({
      ok: true,
      user: {
        id: 'oidc:login.example.com/realms/ops:f3a9-77',
        roles: ['approver', 'finance-approvers', 'viewer'],
        aliases: ['ana@example.com'], // the verified email: the same human for separation of duties
      },
      groups: ['finance', 'ops'],
    });
  });

  it('carries the email as an alias only when the provider verified it, and not when it is the id', () => {
    const aliasesOf = (extra: Record<string, unknown>, overrides: Record<string, unknown> = {}) => {
      const admitted = admitOidcUser({ ...claims, groups: ['ops'], ...extra }, config(overrides));
      return admitted.ok ? admitted.user.aliases : 'refused';
    };
    expect(aliasesOf({})).toEqual(['ana@example.com']);
    expect(aliasesOf({ email_verified: false })).toBeUndefined();
    expect(aliasesOf({ email_verified: 'true' })).toBeUndefined();
    expect(aliasesOf({ email: 'ana\u200b@example.com' })).toBeUndefined();
    expect(aliasesOf({}, { userId: 'email' })).toBeUndefined();
  });

  it('reads another claim, a single string, or a nested claim path', () => {
    const roles = (extra: Record<string, unknown>, rolesClaim: string) => {
      const admitted = admitOidcUser({ ...claims, ...extra }, config({ rolesClaim }));
      return admitted.ok ? admitted.user.roles : admitted.reason;
    };
    expect(roles({ roles: ['reins-admins'] }, 'roles')).toEqual(['admin']);
    expect(roles({ roles: 'ops' }, 'roles')).toEqual(['viewer']);
    expect(roles({ realm_access: { roles: ['ops'] } }, 'realm_access.roles')).toEqual(['viewer']);
    expect(roles({ 'https://reins.dev/groups': ['ops'] }, 'https://reins.dev/groups')).toEqual(['viewer']);
  });

  it('refuses a user whose claims map to no role, saying why', () => {
    const none = admitOidcUser({ ...claims, groups: ['sales'] }, config());
    expect(none).toMatchObject({ ok: false, id: 'oidc:login.example.com/realms/ops:f3a9-77' });
    expect(!none.ok && none.reason).toMatch(/no Reins role.*`groups`/);
    expect(admitOidcUser(claims, config())).toMatchObject({ ok: false });
    expect(admitOidcUser({ ...claims, groups: [42, { admin: true }] }, config())).toMatchObject({
      ok: false,
    });
  });

  it('quotes at most a bounded part of a huge groups claim in the refusal (it goes into the audit log)', () => {
    const groups = Array.from({ length: 5_000 }, (_, index) => `group-${index}-${'x'.repeat(500)}`);
    const refused = admitOidcUser({ ...claims, groups, amr: ['y'.repeat(10_000)] }, config());
    expect(!refused.ok && refused.reason).toMatch(/and 4980 more\)$/);
    expect(!refused.ok && refused.reason.length).toBeLessThan(2_000);
    const mfa = admitOidcUser({ ...claims, amr: ['y'.repeat(10_000)] }, config({ requireMfa: true }));
    expect(!mfa.ok && mfa.reason.length).toBeLessThan(500);
  });

  it('with requireMfa, refuses a login whose amr lacks mfa unless its acr is one the configuration names', () => {
    const mfa = config({ requireMfa: true, mfaAcrValues: ['urn:example:loa:3'] });
    const member = { ...claims, groups: ['ops'] };
    expect(admitOidcUser({ ...member, amr: ['pwd', 'mfa'] }, mfa).ok).toBe(true);
    expect(admitOidcUser({ ...member, acr: 'urn:example:loa:3' }, mfa).ok).toBe(true);
    const refused = admitOidcUser({ ...member, amr: ['pwd'], acr: 'urn:example:loa:1' }, mfa);
    expect(refused).toMatchObject({ ok: false });
    expect(!refused.ok && refused.reason).toMatch(/multi-factor/);
    expect(admitOidcUser(member, mfa).ok).toBe(false);
    expect(admitOidcUser({ ...member, amr: ['pwd'] }, config()).ok).toBe(true); // not required
  });

  it('names the user by verified email when configured, and refuses an unverified one', () => {
    const byEmail = config({ userId: 'email' });
    const admitted = admitOidcUser({ ...claims, groups: ['ops'] }, byEmail);
    expect(admitted.ok && admitted.user.id).toBe('ana@example.com');
    const unverified = admitOidcUser({ ...claims, email_verified: false, groups: ['ops'] }, byEmail);
    expect(unverified).toMatchObject({ ok: false });
    expect(!unverified.ok && unverified.reason).toMatch(/verified email/);
  });

  it('refuses a subject that is not a usable identity (whitespace, invisible characters)', () => {
    expect(admitOidcUser({ ...claims, sub: 'ana\u200b', groups: ['ops'] }, config()).ok).toBe(false);
    expect(admitOidcUser({ ...claims, sub: '', groups: ['ops'] }, config()).ok).toBe(false);
  });
});

describe('the transaction cookie', () => {
  const transaction = { state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/' };

  it('opens what it sealed, before it expires, with the same key only', () => {
    const key = transactionKey('client secret');
    const sealed = sealTransaction(key, transaction, 1_000);
    expect(sealed).not.toContain('"v"');
    expect(openTransaction(key, sealed, 1_000)).toEqual(transaction);
    expect(openTransaction(transactionKey('client secret'), sealed, 1_000)).toEqual(transaction); // another replica
    expect(openTransaction(transactionKey('other secret'), sealed, 1_000)).toBeUndefined();
    expect(openTransaction(key, sealed, 1_000 + 10 * 60_000 + 1)).toBeUndefined();
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith('A') ? 'B' : 'A'}`;
    expect(openTransaction(key, tampered, 1_000)).toBeUndefined();
    expect(openTransaction(key, 'garbage', 1_000)).toBeUndefined();
  });

  it('without a client secret, draws a random key each time (the callback must come back to the same control plane)', () => {
    const first = transactionKey(undefined);
    const sealed = sealTransaction(first, transaction, 0);
    expect(openTransaction(transactionKey(undefined), sealed, 0)).toBeUndefined();
    expect(openTransaction(first, sealed, 0)).toEqual(transaction);
  });
});

describe('console sessions of users signed in through OIDC', () => {
  const user = {
    v: 1 as const,
    id: 'oidc:login.example.com:f3a9',
    roles: ['viewer'],
    tokenHash: '',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'oidc:login.example.com',
  };

  it('end when the ID token expires, however active, and after the inactivity limit before that', () => {
    let now = 0;
    const sessions = new ConsoleSessions(60_000, () => now);
    const session = sessions.openFederated(user, 150_000);
    for (now = 50_000; now < 150_000; now += 50_000)
      expect(sessions.get(session.id)?.federated?.user).toEqual(user);
    now = 150_000;
    expect(sessions.get(session.id)).toBeUndefined();

    now = 0;
    const idle = sessions.openFederated(user, 3_600_000);
    now = 60_001;
    expect(sessions.get(idle.id)).toBeUndefined();
  });

  it('are never opened already expired past the inactivity limit', () => {
    const sessions = new ConsoleSessions(60_000, () => 0);
    expect(sessions.openFederated(user, 10_000_000).expiresAtMs).toBe(60_000);
    expect(sessions.openFederated(user, 5_000).expiresAtMs).toBe(5_000);
  });
});
