/**
 * @module test/fuzz/credentials.fuzz
 * Property (e), credentials: whatever bearer credential arrives — random text, random JWT-shaped
 * strings, tampered real tokens, `alg: none`, HMAC signed with the public key, a stranger's key, an
 * unknown `kid`, and tokens signed with the real key but expired, not yet valid, for another issuer or
 * audience, for an unknown or suspended agent, with missing or huge claims — the Authenticator refuses
 * it with a known code and a clear message, never authenticates it and never throws. Refusals are
 * recorded in a real audit log, so odd claims must not break the record either.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { CREDENTIAL_TYPE } from '../../src/spec/credential-claims.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { credentialKeysBeside, signingKeyOf } from '../support/test-keys.js';
import { expectClearMessage, jsonValue } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

const CODES = [
  'malformed',
  'algorithm_not_allowed',
  'bad_signature',
  'unknown_key',
  'wrong_issuer',
  'wrong_audience',
  'expired',
  'not_yet_valid',
  'revoked',
  'agent_not_active',
  'unknown_agent',
  'scope_not_held',
];

let identity: SqliteIdentityStore;
let audit: SqliteAuditLog;
let auth: Authenticator;
let valid: string;
/** The store's signing key: to sign tokens whose claims are wrong (only the signature is right). */
let signing: { kid: string; key: KeyObject; publicPem: string };
const stranger = generateKeyPairSync('ed25519');

beforeAll(async () => {
  const directory = mkdtempSync(join(tmpdir(), 'reins-fuzz-credentials-'));
  identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  audit = new SqliteAuditLog({ path: join(directory, 'reins.db') });
  const registry = new AgentRegistry(identity);
  await registry.create({ id: 'fuzz-agent', owner: 'ana@example.com', roles: [], scopes: ['crm/*'] });
  await registry.create({ id: 'held-agent', owner: 'ana@example.com', roles: [], scopes: ['*'] });
  await registry.suspend('held-agent', { by: 'sec@example.com', reason: 'fuzz' });
  auth = await Authenticator.open({ store: identity, audit, keys: credentialKeysBeside(directory) });
  valid = (await auth.issue('fuzz-agent', { sessionId: 'fuzz-session' })).token;
  // the key as someone holding the key directory would have it
  const key = signingKeyOf(directory);
  signing = { kid: key.kid, key: key.privateKey, publicPem: key.publicPem };
}, 30_000);

afterAll(async () => {
  await auth.close();
  await audit.close();
  await identity.close();
});

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function goodClaims(): Record<string, unknown> {
  const issued = now();
  return {
    iss: 'reins',
    aud: 'reins',
    sub: 'fuzz-agent',
    sid: 'fuzz-session',
    scope: 'crm/*',
    jti: `jti-${Math.random()}`,
    iat: issued,
    nbf: issued,
    exp: issued + 600,
    dpt: 0,
    anc: [],
  };
}

/** One change that makes an otherwise good, correctly signed credential invalid. */
const invalidating: fc.Arbitrary<{ name: string; apply: (claims: Record<string, unknown>) => void }> =
  fc.oneof(
    fc.integer({ min: 60, max: 10 ** 9 }).map((ago) => ({
      name: 'expired',
      apply: (claims: Record<string, unknown>) => {
        claims.exp = now() - ago;
        claims.iat = now() - ago - 600;
        claims.nbf = claims.iat;
      },
    })),
    fc.integer({ min: 60, max: 10 ** 9 }).map((ahead) => ({
      name: 'not yet valid',
      apply: (claims: Record<string, unknown>) => {
        claims.nbf = now() + ahead;
        claims.iat = claims.nbf;
        claims.exp = now() + ahead + 600;
      },
    })),
    fc
      .string()
      .filter((iss) => iss !== 'reins')
      .map((iss) => ({
        name: 'issuer',
        apply: (claims: Record<string, unknown>) => Object.assign(claims, { iss: iss }),
      })),
    fc
      .oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))
      .filter((aud) => aud !== 'reins' && !(Array.isArray(aud) && aud.includes('reins')))
      .map((aud) => ({
        name: 'audience',
        apply: (claims: Record<string, unknown>) => Object.assign(claims, { aud: aud }),
      })),
    fc
      .oneof(
        fc.constant('held-agent'),
        fc
          .string({ unit: 'binary', maxLength: 300 })
          .filter((sub) => sub !== 'fuzz-agent' && sub !== 'held-agent'),
      )
      .map((sub) => ({
        name: 'agent',
        apply: (claims: Record<string, unknown>) => Object.assign(claims, { sub: sub }),
      })),
    fc.constantFrom('sub', 'sid', 'jti', 'exp', 'nbf', 'iat', 'scope', 'dpt').map((claim) => ({
      name: `missing ${claim}`,
      apply: (claims: Record<string, unknown>) => Reflect.deleteProperty(claims, claim),
    })),
    fc
      .tuple(
        fc.constantFrom('sub', 'sid', 'jti', 'exp', 'nbf', 'iat', 'scope', 'dpt', 'anc', 'act', 'psn'),
        jsonValue,
      )
      .filter(([claim, value]) => wrongType(claim, value))
      .map(([claim, value]) => ({
        name: `wrong type of ${claim}`,
        apply: (claims: Record<string, unknown>) => Object.assign(claims, { [claim]: value }),
      })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((actor) => ({
      name: 'delegated by an unknown agent',
      apply: (claims: Record<string, unknown>) => {
        claims.act = { sub: `x${actor}` };
        claims.dpt = 1;
      },
    })),
  );

/** A claim value that must make the credential fail (by its type, or by naming no active agent). */
function wrongType(claim: string, value: unknown): boolean {
  const actsAsAgent = (actor: unknown) =>
    typeof actor === 'object' && actor !== null && (actor as { sub?: unknown }).sub === 'fuzz-agent';
  if (claim === 'sub') return value !== 'fuzz-agent';
  if (claim === 'sid' || claim === 'jti') return typeof value !== 'string' || value === '';
  if (['exp', 'nbf', 'iat', 'dpt'].includes(claim)) return !Number.isInteger(value);
  if (claim === 'scope') return typeof value !== 'string';
  if (claim === 'anc') return !Array.isArray(value) || value.some((item) => typeof item !== 'string');
  if (claim === 'act') return !actsAsAgent(value);
  // a credential of depth 0 delegated from no session: any lineage but none is forged
  if (claim === 'psn') return !(Array.isArray(value) && value.length === 0);
  return false;
}

/** A compact JWS signed with Ed25519 (synchronous, so that generated tokens print as counterexamples). */
function jws(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

function signReal(claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return jws({ alg: 'EdDSA', kid: signing.kid, typ: CREDENTIAL_TYPE, ...header }, claims, signing.key);
}

/** Every way to present a credential that must not authenticate (built once the keys exist). */
function badCredential(): fc.Arbitrary<string> {
  return fc.oneof(
    // random text
    fc.string({ unit: 'binary', maxLength: 500 }),
    // JWT-shaped: random header and payload JSON, random signature
    fc
      .tuple(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 100 }))
      .map(([header, payload, signature]) => `${b64(header)}.${b64(payload)}.${b64(signature)}`),
    // the real token with one character changed (only when the decoded token really differs)
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ '),
      )
      .map(([position, char]) => {
        const index = position % valid.length;
        const tampered = `${valid.slice(0, index)}${char}${valid.slice(index + 1)}`;
        return decodedSame(tampered, valid) ? `${tampered}!` : tampered;
      }),
    // the real header and signature with other claims
    invalidating.map((change) => {
      const [header, , signature] = valid.split('.');
      const claims = goodClaims();
      change.apply(claims);
      return `${header}.${b64(claims)}.${signature}`;
    }),
    // alg none, and HMAC keyed with the public key (algorithm confusion)
    fc.constantFrom('none', 'None', 'NONE', 'HS256', 'RS256', 'ES256', '').map((alg) => {
      const header = b64({ alg, kid: signing.kid, typ: CREDENTIAL_TYPE });
      const payload = b64(goodClaims());
      if (!alg.startsWith('HS')) return `${header}.${payload}.`;
      const mac = createHmac('sha256', signing.publicPem).update(`${header}.${payload}`).digest('base64url');
      return `${header}.${payload}.${mac}`;
    }),
    // signed by a stranger, under the real kid or another
    fc
      .option(fc.string({ maxLength: 40 }), { nil: undefined })
      .map((kid) =>
        jws(
          { alg: 'EdDSA', kid: kid ?? signing.kid, typ: CREDENTIAL_TYPE },
          goodClaims(),
          stranger.privateKey,
        ),
      ),
    // signed with the real key, but with wrong claims; sometimes huge on top
    fc
      .tuple(invalidating, fc.option(fc.string({ minLength: 10_000, maxLength: 100_000 }), { freq: 4 }))
      .map(([change, padding]) => {
        const claims = goodClaims();
        if (padding !== null) claims.extra = padding;
        change.apply(claims);
        return signReal(claims);
      }),
    // signed with the real key, but not a Reins credential type (media types compare case-insensitively)
    fc.constantFrom('JWT', 'jwt', '', 'reins-agent', 'at+jwt').map((typ) => signReal(goodClaims(), { typ })),
    fc.constant(signReal(goodClaims(), { kid: undefined })),
  );
}

function decodedSame(left: string, right: string): boolean {
  const decode = (token: string) =>
    token.split('.').map((part) => Buffer.from(part, 'base64url').toString('hex'));
  const [a, b] = [decode(left), decode(right)];
  return a.length === b.length && a.every((part, index) => part === b[index]);
}

describe('fuzz: credentials', () => {
  it('the real token authenticates (the property below would be empty otherwise)', async () => {
    expect((await auth.authenticate(`Bearer ${valid}`)).ok).toBe(true);
  });

  it(
    'refuses every bad credential with a known code and a clear message, and never throws',
    async () => {
      const scenario = fc.tuple(badCredential(), fc.boolean());
      await fuzz('credentials', 300, scenario, async ([token, withScheme]) => {
        const result = await auth.authenticate(withScheme ? `Bearer ${token}` : token);
        expect(result.ok, `authenticated: ${token.slice(0, 300)}`).toBe(false);
        if (result.ok) return;
        expect(CODES, `code for ${token.slice(0, 200)}`).toContain(result.code);
        expectClearMessage(result.message, `refusal of ${token.slice(0, 200)}`);
      });
      // the refusals were recorded, and the real token still works
      expect((await audit.query({ kind: 'credential-rejected', limit: 1 })).length).toBe(1);
      expect((await auth.authenticate(`Bearer ${valid}`)).ok).toBe(true);
    },
    timeoutFor(),
  );
});
