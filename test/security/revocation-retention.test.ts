/**
 * @module test/security/revocation-retention.test
 * Issue 11, surface "credential lifetime against revocation retention": revocations are kept until
 * `at + MAX_TOKEN_LIFETIME_MS` (24 h) and then forgotten (a new process does not load them, the store
 * prunes them). A credential that lives longer than that, or one still accepted within the clock
 * tolerance after its `exp`, would become valid again once its revocation is forgotten. Credentials
 * are capped at the retention (issuing refuses longer, verification refuses any credential whose
 * lifetime exceeds it, whoever signed it), and revocations outlive the clock tolerance.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator, MAX_TOKEN_LIFETIME_MS } from '../../src/auth/authenticator.js';
import { CredentialError } from '../../src/identity/tokens.js';
import { CREDENTIAL_TYPE } from '../../src/spec/credential-claims.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { credentialKeysBeside, signingKeyOf } from '../support/test-keys.js';

const HOUR_S = 3_600;
let now = Date.parse('2026-06-01T12:00:00Z');
const clock = () => now;
let store: SqliteIdentityStore;
let directory: string;
const opened: Authenticator[] = [];

/** A fresh process: loads keys, agents and the revocations the store still holds at `now`. */
async function freshAuthenticator(): Promise<Authenticator> {
  const auth = await Authenticator.open({ store, clock, keys: credentialKeysBeside(directory) });
  opened.push(auth);
  return auth;
}

beforeEach(async () => {
  now = Date.parse('2026-06-01T12:00:00Z');
  directory = mkdtempSync(join(tmpdir(), 'reins-retention-'));
  store = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(store, clock).create({ id: 'worker', owner: 'wes@example.com', scopes: ['*'] });
});

afterEach(async () => {
  for (const auth of opened.splice(0)) auth.close();
  await store.close();
});

describe('a revoked credential never becomes valid again', () => {
  it('issuing refuses a lifetime longer than revocations are kept', async () => {
    const auth = await freshAuthenticator();
    const outcome = await auth.issue('worker', { ttlSeconds: 48 * HOUR_S }).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(CredentialError);
    expect(String(outcome)).toMatch(/24 h/);
    expect((await auth.issue('worker', { ttlSeconds: MAX_TOKEN_LIFETIME_MS / 1000 })).claims.sub).toBe(
      'worker',
    );
  });

  it('a long-lived credential signed with the key (by anyone holding it) is refused', async () => {
    const auth = await freshAuthenticator();
    const key = signingKeyOf(directory);
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({ sid: 's', scope: '*', dpt: 0, anc: [] })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CREDENTIAL_TYPE })
      .setIssuer('reins')
      .setAudience('reins')
      .setSubject('worker')
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 48 * HOUR_S)
      .sign(key.privateKey);
    await auth.revoke('token', decodeJwt(token).jti as string, { by: 'sec' });
    now += 25 * 3_600_000;
    const later = await freshAuthenticator();
    expect(await later.authenticate(token)).toMatchObject({ ok: false });
  });

  it('a revocation outlives the clock tolerance on the credential expiry, in a process started later', async () => {
    const auth = await freshAuthenticator();
    const { token, claims } = await auth.issue('worker', { ttlSeconds: MAX_TOKEN_LIFETIME_MS / 1000 });
    await auth.revoke('token', claims.jti, { by: 'sec' });
    // just after exp, within the tolerance verification allows for clocks that disagree
    now = claims.exp * 1000 + 3_000;
    const later = await freshAuthenticator();
    expect(await later.authenticate(token)).toMatchObject({ ok: false, code: 'revoked' });
  });
});
