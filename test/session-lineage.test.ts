/**
 * @module test/session-lineage.test
 * Trust does not travel (issue 14): a delegated credential names the sessions it was delegated from
 * (claim `psn`, outermost first), the principal the policy and the audit log see carries them
 * (`principal.parentSessions`), and a credential whose lineage has any other shape is refused as
 * malformed even when it is signed with the deployment's own key: a child that could drop or rewrite
 * its lineage would leave the parent's untrusted data behind. Old audit records without the field read
 * as an empty lineage.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { localSigner, memoryKeySource } from '../src/identity/key-ring.js';
import { type CallIntentEvent, readAuditRecord } from '../src/spec/audit-event.js';
import { CREDENTIAL_TYPE } from '../src/spec/credential-claims.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { intentEvent } from './support/audit-fixtures.js';

let store: SqliteIdentityStore;
let auth: Authenticator;
const now = Date.parse('2026-03-02T10:00:00Z');
const { privateKey } = generateKeyPairSync('ed25519');
const signer = localSigner(privateKey);

beforeEach(async () => {
  store = new SqliteIdentityStore({ path: join(mkdtempSync(join(tmpdir(), 'reins-lineage-')), 'reins.db') });
  const registry = new AgentRegistry(store, () => now);
  for (const id of ['orchestrator', 'researcher', 'payer'])
    await registry.create({ id, owner: 'olivia@example.com', scopes: ['crm/*', 'pay/*'] });
  auth = await Authenticator.open({
    store,
    keys: memoryKeySource({ signer, retired: [] }),
    clock: () => now,
  });
});

afterEach(async () => {
  await auth.close();
  await store.close();
});

describe('a delegated credential carries the sessions it was delegated from', () => {
  it('outermost first, down the chain, onto the principal', async () => {
    const root = await auth.issue('orchestrator', { sessionId: 'case-7' });
    expect(root.claims.psn).toEqual([]);
    const child = await auth.delegate(root.token, { agentId: 'researcher', task: 'look-up' });
    expect(child.claims).toMatchObject({ sid: 'case-7/look-up', psn: ['case-7'] });
    const grandchild = await auth.delegate(child.token, {
      agentId: 'payer',
      task: 'pay',
      sessionId: 'case-7/look-up/payment-1',
    });
    expect(grandchild.claims.psn).toEqual(['case-7', 'case-7/look-up']);

    expect(await auth.authenticate(root.token)).toMatchObject({
      ok: true,
      principal: { agentId: 'orchestrator', delegatedBy: [], parentSessions: [] },
    });
    expect(await auth.authenticate(grandchild.token)).toMatchObject({
      ok: true,
      sessionId: 'case-7/look-up/payment-1',
      principal: {
        agentId: 'payer',
        delegatedBy: ['orchestrator', 'researcher'],
        parentSessions: ['case-7', 'case-7/look-up'],
      },
    });
  });

  it('refuses a child session that is not a new one inside the session it is delegated from', async () => {
    const root = await auth.issue('orchestrator', { sessionId: 'case-7' });
    const child = await auth.delegate(root.token, { agentId: 'researcher', task: 't' });
    // one of its own sessions, another agent's session (whose state it would share), or a sibling's
    for (const sessionId of ['case-7', 'case-7/t', 'victim-session', 'case-7/other', 'case-7/t/'])
      await expect(
        auth.delegate(child.token, { agentId: 'payer', task: 'pay', sessionId }),
      ).rejects.toMatchObject({ code: 'malformed', message: expect.stringContaining(sessionId) });
  });
});

describe('a lineage of any other shape is refused, even signed with the deployment key', () => {
  const base = (claims: Record<string, unknown>) => ({
    iss: 'reins',
    aud: 'reins',
    sub: 'payer',
    sid: 'parent/child',
    scope: 'crm/*',
    jti: 'token-1',
    iat: now / 1000,
    nbf: now / 1000,
    exp: now / 1000 + 300,
    dpt: 1,
    anc: ['parent-token'],
    act: { sub: 'orchestrator' },
    ...claims,
  });
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: signer.keyId, typ: CREDENTIAL_TYPE })
      .sign(privateKey);

  it('accepts the well-formed lineage it forges alongside (the forgeries differ only in `psn`)', async () => {
    expect(await auth.authenticate(await sign(base({ psn: ['parent'] })))).toMatchObject({
      ok: true,
      principal: { parentSessions: ['parent'] },
    });
  });

  const forged: [string, Record<string, unknown>][] = [
    ['a delegated credential without lineage', { psn: undefined }],
    ['a delegated credential with an empty lineage', { psn: [] }],
    ['a lineage that is a string', { psn: 'parent' }],
    ['a lineage that is an object', { psn: { 0: 'parent' } }],
    ['a lineage of numbers', { psn: [7] }],
    ['a session outside the one it is delegated from', { psn: ['victim-session'] }],
    ['an empty session id', { psn: [''] }],
    ['a lineage longer than the depth', { psn: ['a', 'b'] }],
    [
      'a lineage shorter than the depth',
      { psn: ['a'], dpt: 2, act: { sub: 'researcher', act: { sub: 'orchestrator' } } },
    ],
    ['a root credential with a lineage', { psn: ['parent'], dpt: 0, anc: [], act: undefined }],
    ['its own session in its lineage', { psn: ['child'] }],
    [
      'a session twice',
      { psn: ['a', 'a'], dpt: 2, act: { sub: 'researcher', act: { sub: 'orchestrator' } } },
    ],
  ];
  for (const [what, claims] of forged) {
    it(`refuses ${what}`, async () => {
      const result = await auth.authenticate(await sign(base(claims)));
      expect(result).toMatchObject({ ok: false, code: 'malformed' });
    });
  }
});

describe('the lineage in audit records', () => {
  it('is recorded with the principal, and a record written before the field reads as none', () => {
    const event = intentEvent(1) as CallIntentEvent;
    const withLineage = {
      ...event,
      principal: { ...event.principal, delegatedBy: ['orchestrator'], parentSessions: ['case-7'] },
    };
    const read = readAuditRecord(JSON.stringify(withLineage));
    expect(read).toMatchObject({ ok: true, ignoredFields: [] });
    expect(read.ok && read.event.kind === 'call-intent' && read.event.principal.parentSessions).toEqual([
      'case-7',
    ]);

    const { parentSessions: _, ...before } = withLineage.principal;
    const old = readAuditRecord(JSON.stringify({ ...event, principal: before }));
    expect(old.ok && old.event.kind === 'call-intent' && old.event.principal.parentSessions).toEqual([]);
  });
});
