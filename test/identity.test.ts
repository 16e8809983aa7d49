/**
 * @module test/identity.test
 * Credentials and delegation end to end on the real SQLite stores: every way a credential must be
 * refused (each with a clear code and an audit record), delegation that only narrows, and the
 * confused deputy: an agent that may pay cannot pay on a task delegated by one that may not.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { Harness } from '../src/harness/harness.js';
import { ephemeralKeySource, KeyRing } from '../src/identity/key-ring.js';
import { CredentialError, issueToken } from '../src/identity/tokens.js';
import { CREDENTIAL_TYPE } from '../src/spec/credential-claims.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { policyFrom } from './support/policy-fixtures.js';

let store: SqliteIdentityStore;
let audit: SqliteAuditLog;
let registry: AgentRegistry;
let auth: Authenticator;
let now: number;
let keys: ReturnType<typeof ephemeralKeySource>;

beforeEach(async () => {
  const directory = mkdtempSync(join(tmpdir(), 'reins-identity-'));
  store = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  audit = new SqliteAuditLog({ path: ':memory:' });
  now = Date.parse('2026-03-02T10:00:00Z');
  registry = new AgentRegistry(store, () => now);
  keys = ephemeralKeySource();
  auth = await Authenticator.open({ store, audit, keys, clock: () => now, maxDelegationDepth: 2 });
  await registry.create({ id: 'assistant', owner: 'ana@example.com', scopes: ['crm/*'], roles: ['support'] });
  await registry.create({
    id: 'payments-bot',
    owner: 'pat@example.com',
    scopes: ['pay/*', 'crm/*'],
    roles: ['finance'],
  });
  await registry.create({ id: 'reporter', owner: 'rio@example.com', scopes: ['crm/db.select'] });
});

afterEach(async () => {
  await auth.close();
  await store.close();
  await audit.close();
});

async function rejections(): Promise<{ code: string; message: string; claimedAgentId: string }[]> {
  const records = await audit.query({ kind: 'credential-rejected' });
  return records.map((record) => {
    const event = record.event;
    if (event.kind !== 'credential-rejected') throw new Error('unexpected kind');
    return { code: event.code, message: event.message, claimedAgentId: event.claimedAgentId };
  });
}

async function expectRefused(token: string, code: string, message: RegExp): Promise<void> {
  const before = (await rejections()).length;
  const result = await auth.authenticate(token);
  expect(result).toMatchObject({ ok: false, code });
  if (!result.ok) expect(result.message).toMatch(message);
  const after = await rejections();
  expect(after).toHaveLength(before + 1);
  expect(after.at(-1)?.code).toBe(code);
}

describe('credentials', () => {
  it('authenticate maps a valid credential to the principal the policy sees', async () => {
    const { token } = await auth.issue('payments-bot', { sessionId: 's1' });
    const result = await auth.authenticate(`Bearer ${token}`);
    expect(result).toMatchObject({
      ok: true,
      sessionId: 's1',
      principal: {
        agentId: 'payments-bot',
        roles: ['finance'],
        owner: 'pat@example.com',
        delegatedBy: [],
        scopes: ['pay/*', 'crm/*'],
      },
    });
    expect(await auth.jwks()).toMatchObject({
      keys: [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' }],
    });
  });

  it('reads a credential given with its scheme as the listeners do: the scheme in any case', async () => {
    const { token } = await auth.issue('assistant', { sessionId: 's1' });
    for (const given of [token, `Bearer ${token}`, `bearer ${token}`, `BEARER  ${token}`])
      expect(await auth.authenticate(given), given.slice(0, 8)).toMatchObject({ ok: true, sessionId: 's1' });
    expect(await auth.authenticate(`Bearer ${token} x`)).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('refuses a bad signature', async () => {
    const { token } = await auth.issue('assistant');
    const [header, payload] = token.split('.');
    const forged = await new SignJWT(
      JSON.parse(new TextDecoder().decode(base64url.decode(payload as string))),
    )
      .setProtectedHeader(JSON.parse(new TextDecoder().decode(base64url.decode(header as string))))
      .sign(generateKeyPairSync('ed25519').privateKey);
    await expectRefused(forged, 'bad_signature', /signature does not verify/);
  });

  it('refuses `alg: none`', async () => {
    const { token } = await auth.issue('assistant');
    const payload = token.split('.')[1] as string;
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: CREDENTIAL_TYPE }));
    await expectRefused(`${header}.${payload}.`, 'algorithm_not_allowed', /only EdDSA/);
  });

  it('refuses HS256 signed with the public key (key confusion)', async () => {
    const { token, claims } = await auth.issue('assistant');
    const kid = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0] as string)))
      .kid as string;
    const jwks = await auth.jwks();
    const publicKeyBytes = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const confused = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'HS256', kid, typ: CREDENTIAL_TYPE })
      .sign(publicKeyBytes);
    await expectRefused(confused, 'algorithm_not_allowed', /only EdDSA/);
  });

  it('refuses a wrong issuer, a wrong audience, an expired and a not yet valid credential', async () => {
    const ring = KeyRing.fromKeys(await keys.load());
    const base = {
      agentId: 'assistant',
      sessionId: 's',
      scopes: ['crm/*'],
      notBefore: now / 1000,
      expiresAt: now / 1000 + 600,
    };
    await expectRefused(
      (await issueToken(ring, base, { issuer: 'someone-else' })).token,
      'wrong_issuer',
      /issued by someone else/,
    );
    await expectRefused(
      (await issueToken(ring, base, { audience: 'other-service' })).token,
      'wrong_audience',
      /another audience/,
    );
    const expired = await issueToken(ring, {
      ...base,
      notBefore: now / 1000 - 3600,
      expiresAt: now / 1000 - 60,
    });
    await expectRefused(expired.token, 'expired', /expired/);
    const early = await issueToken(ring, {
      ...base,
      notBefore: now / 1000 + 3600,
      expiresAt: now / 1000 + 7200,
    });
    await expectRefused(early.token, 'not_yet_valid', /not valid yet/);
  });

  it('does not serve a cached verification past the expiry', async () => {
    const { token } = await auth.issue('assistant', { ttlSeconds: 60 });
    expect((await auth.authenticate(token)).ok).toBe(true);
    now += 66_000; // past the expiry and the 5 s clock-skew tolerance
    await expectRefused(token, 'expired', /expired/);
  });

  it('refuses a revoked token, at once, even when its verification is cached', async () => {
    const { token, claims } = await auth.issue('assistant');
    expect((await auth.authenticate(token)).ok).toBe(true);
    await auth.revoke('token', claims.jti, { by: 'sec@example.com', reason: 'leaked' });
    await expectRefused(token, 'revoked', /revoked/);
  });

  it('refuses the token of a suspended agent, and resuming does not revive old tokens', async () => {
    const { token } = await auth.issue('assistant');
    await registry.suspend('assistant', { by: 'sec@example.com', reason: 'misbehaving' });
    // the standing hears of the suspension from the store
    const refused = await eventually(async () => {
      const result = await auth.authenticate(token);
      expect(result.ok).toBe(false);
      return result;
    });
    if (!refused.ok) expect(['agent_not_active', 'revoked']).toContain(refused.code);
    // recorded once per kind and window; repeats are counted into a summary (auth/refusal-recorder)
    expect((await rejections()).some((event) => event.claimedAgentId === 'assistant')).toBe(true);
    await expect(auth.issue('assistant')).rejects.toThrow(/suspended/);
    await registry.resume('assistant', { by: 'sec@example.com', reason: 'fixed' });
    now += 1_000;
    await eventually(() => auth.issue('assistant'));
    expect((await auth.authenticate(token)).ok).toBe(false);
    expect((await auth.authenticate((await auth.issue('assistant')).token)).ok).toBe(true);
  });

  it('keeps verifying tokens of a rotated key until they expire, and signs new ones with the new key', async () => {
    const old = await auth.issue('assistant');
    keys.rotate(new Date(now));
    const fresh = await auth.issue('assistant');
    const kidOf = (token: string) =>
      JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0] as string))).kid as string;
    expect(kidOf(fresh.token)).toBe(auth.signingKeyId());
    expect(kidOf(fresh.token)).not.toBe(kidOf(old.token));
    expect((await auth.authenticate(old.token)).ok).toBe(true);
    expect((await auth.authenticate(fresh.token)).ok).toBe(true);
    expect((await auth.jwks()).keys).toHaveLength(2);
    // a day later every token of the retired key has expired: the key no longer verifies
    now += 24 * 3_600_000 + 1;
    expect((await auth.jwks()).keys).toHaveLength(1);
  });
});

describe('delegation only narrows', () => {
  it('gives the child the intersection of scopes, the parent as actor and a bounded expiry', async () => {
    const parent = await auth.issue('payments-bot', { sessionId: 'p', ttlSeconds: 600 });
    const child = await auth.delegate(parent.token, { agentId: 'assistant', task: 'summarise' });
    expect(child.claims).toMatchObject({
      sub: 'assistant',
      scope: 'crm/*',
      dpt: 1,
      act: { sub: 'payments-bot' },
      task: 'summarise',
    });
    expect(child.claims.anc).toEqual([parent.claims.jti]);
    expect(child.claims.exp).toBeLessThanOrEqual(parent.claims.exp);
    const result = await auth.authenticate(child.token);
    expect(result).toMatchObject({
      ok: true,
      principal: { agentId: 'assistant', delegatedBy: ['payments-bot'], scopes: ['crm/*'] },
    });
  });

  it('refuses a child asking for a scope its parent lacks', async () => {
    const parent = await auth.issue('assistant');
    await expect(
      auth.delegate(parent.token, { agentId: 'payments-bot', task: 'pay', scopes: ['pay/*'] }),
    ).rejects.toMatchObject({
      code: 'scope_not_held',
    });
    expect((await rejections()).at(-1)).toMatchObject({
      code: 'scope_not_held',
      message: expect.stringMatching(/does not hold scope `pay\/\*`/),
    });
  });

  it('refuses a child outliving its parent', async () => {
    const parent = await auth.issue('payments-bot', { ttlSeconds: 300 });
    await expect(
      auth.delegate(parent.token, { agentId: 'assistant', task: 't', ttlSeconds: 3600 }),
    ).rejects.toMatchObject({
      code: 'outlives_parent',
    });
    expect((await rejections()).at(-1)?.code).toBe('outlives_parent');
  });

  it('refuses a chain deeper than the limit', async () => {
    const root = await auth.issue('payments-bot');
    const first = await auth.delegate(root.token, { agentId: 'assistant', task: 'one' });
    const second = await auth.delegate(first.token, { agentId: 'reporter', task: 'two' });
    expect(second.claims.act).toEqual({ sub: 'assistant', act: { sub: 'payments-bot' } });
    await expect(auth.delegate(second.token, { agentId: 'assistant', task: 'three' })).rejects.toMatchObject({
      code: 'depth_exceeded',
    });
    expect((await rejections()).at(-1)?.code).toBe('depth_exceeded');
  });

  it('refuses a child used after its parent was revoked', async () => {
    const parent = await auth.issue('payments-bot');
    const child = await auth.delegate(parent.token, { agentId: 'assistant', task: 't' });
    expect((await auth.authenticate(child.token)).ok).toBe(true);
    await auth.revoke('token', parent.claims.jti, { by: 'sec@example.com' });
    await expectRefused(child.token, 'revoked', /delegated from was revoked/);
  });

  it('refuses a delegated credential when an agent up the chain is suspended', async () => {
    const parent = await auth.issue('payments-bot');
    const child = await auth.delegate(parent.token, { agentId: 'assistant', task: 't' });
    await store.setAgentState('payments-bot', 'suspended', { by: 'sec', reason: 'test' });
    await eventually(async () =>
      expect(await auth.authenticate(child.token)).toMatchObject({ ok: false, code: 'agent_not_active' }),
    );
  });

  it('rejects invalid scopes and unknown agents with clear errors', async () => {
    await expect(registry.create({ id: 'bad', owner: 'x', scopes: ['crm/*/more*'] })).rejects.toThrow(
      /invalid scope/,
    );
    await expect(registry.create({ id: 'assistant', owner: 'x' })).rejects.toThrow(/already exists/);
    await expect(auth.issue('ghost')).rejects.toBeInstanceOf(CredentialError);
  });
});

describe('the confused deputy', () => {
  const policy = policyFrom(
    `
rules:
  - id: crm-for-everyone
    effect: allow
    tool: { server: crm }
    reason: agents may use the crm within their credential
  - id: payments-bot-pays
    effect: allow
    principal: { agents: payments-bot }
    tool: { server: pay, name: payments.send }
    reason: the payments bot sends payments
`,
    {
      catalogue: `tools:
  - { server: crm, name: "*", risk: low, effects: [read] }
  - { server: pay, name: payments.send, risk: critical, effects: [external, irreversible] }`,
    },
  );

  async function pay(token: string) {
    const result = await auth.authenticate(token, { tool: { server: 'pay', name: 'payments.send' } });
    if (!result.ok) throw new Error(result.message);
    const harness = new Harness({ policy: { current: policy }, audit });
    return harness.call(
      {
        principal: result.principal,
        sessionId: result.sessionId,
        tool: { server: 'pay', name: 'payments.send' },
        args: { amount: 10 },
      },
      async () => 'paid',
    );
  }

  it('lets the payments bot pay on its own task, but not on a task delegated by an agent that may not pay', async () => {
    const own = await auth.issue('payments-bot', { sessionId: 'own-task' });
    expect(await pay(own.token)).toMatchObject({ status: 'ok', output: 'paid' });

    const assistant = await auth.issue('assistant', { sessionId: 'ticket-7' });
    const deputy = await auth.delegate(assistant.token, {
      agentId: 'payments-bot',
      task: 'reconcile-ticket-7',
    });
    const result = await pay(deputy.token);
    expect(result.status).toBe('denied');
    expect(result.decision.diagnostics[0]).toMatchObject({ code: 'out_of_scope' });

    // every hop is in the audit record of the refused attempt
    const intents = await audit.query({ sessionId: deputy.claims.sid, kind: 'call-intent' });
    const intent = intents[0]?.event;
    expect(intent?.kind === 'call-intent' && intent.principal).toMatchObject({
      agentId: 'payments-bot',
      delegatedBy: ['assistant'],
      scopes: ['crm/*'],
    });
  });
});
