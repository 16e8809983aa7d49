/**
 * @module test/key-sources.test
 * Key custody (decision 0011): signing keys come from a key source, never the store. Covers the key
 * directory through the built CLI (`reins keys generate|rotate`, `reins agents token`), strict
 * permissions, a missing source, the environment source, rotation of both keys, a KMS-style `Signer`,
 * and the migration of keys earlier versions kept in the store or beside the log.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { decodeProtectedHeader } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { openWritableAuditLog, verificationKey } from '../src/cli/audit-store.js';
import { type CredentialKeySource, localSigner, type Signer } from '../src/identity/key-ring.js';
import { credentialKeySource, directoryKeySource, resolveKeySource } from '../src/keys/key-source.js';
import { keyIdOf } from '../src/spec/key-id.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { intentEvent } from './support/audit-fixtures.js';

const ROOT = resolve(import.meta.dirname, '..');
let directory: string;
let db: string;

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: directory,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_CREDENTIAL_KEYS: '', REINS_CREDENTIAL_KEY: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

async function withAuthenticator<T>(
  keys: CredentialKeySource,
  work: (auth: Authenticator) => Promise<T>,
  clock?: () => number,
): Promise<T> {
  const store = new SqliteIdentityStore({ path: db });
  const auth = await Authenticator.open({ store, keys, ...(clock ? { clock } : {}) });
  try {
    return await work(auth);
  } finally {
    auth.close();
    await store.close();
  }
}

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-keys-'));
  db = join(directory, 'reins.db');
  const store = new SqliteIdentityStore({ path: db });
  await new AgentRegistry(store).create({ id: 'bot', owner: 'o@example.com', scopes: ['crm/*'] });
  await store.close();
});

describe('key directories', () => {
  it('are created 0700 with a 0600 key by `reins keys generate`, never over an existing key', () => {
    const keys = join(directory, 'keys');
    const made = reins(
      'keys',
      'generate',
      '--credential-keys',
      join(keys, 'credentials'),
      '--checkpoint-keys',
      join(keys, 'checkpoints'),
    );
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/credentials: created signing key ed25519:[0-9a-f]{16}/);
    expect(mode(join(keys, 'credentials'))).toBe('700');
    expect(mode(join(keys, 'credentials', 'signing-key.pem'))).toBe('600');
    expect(mode(join(keys, 'checkpoints', 'signing-key.pem'))).toBe('600');
    const again = reins(
      'keys',
      'generate',
      '--purpose',
      'credentials',
      '--credential-keys',
      join(keys, 'credentials'),
    );
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already holds a signing key');
  });

  it('refuse a private key or directory that group or others can read', () => {
    const keys = join(directory, 'credentials');
    expect(reins('keys', 'generate', '--purpose', 'credentials', '--credential-keys', keys).code).toBe(0);
    chmodSync(join(keys, 'signing-key.pem'), 0o640);
    const loose = reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys);
    expect(loose.code).toBe(2);
    expect(loose.stderr).toMatch(
      /signing-key\.pem` is accessible to group or others \(mode 640\).*chmod 0600/,
    );
    chmodSync(join(keys, 'signing-key.pem'), 0o600);
    chmodSync(keys, 0o755);
    expect(reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys).stderr).toContain(
      'is accessible to group or others (mode 755)',
    );
    chmodSync(keys, 0o700);
    expect(reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys).code).toBe(0);
  });

  it('a missing key source is a clear error, and issuing a token never creates a key', () => {
    const token = reins('agents', 'token', 'bot', '--db', db);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain(`no key directory \`${join(directory, '.reins-keys', 'credentials')}\``);
    expect(token.stderr).toContain('reins keys generate');
    expect(existsSync(join(directory, '.reins-keys'))).toBe(false);
    const env = reins('agents', 'token', 'bot', '--db', db, '--credential-keys', join(directory, 'typo'));
    expect(env.code).toBe(2);
    expect(existsSync(join(directory, 'typo'))).toBe(false);
  });
});

describe('the environment source', () => {
  it('signs with the PKCS#8 PEM in REINS_CREDENTIAL_KEY, and a bad value is a clear error', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(
      resolveKeySource('credentials', undefined, directory, { REINS_CREDENTIAL_KEY: pem }).source,
    ).toEqual({
      env: 'REINS_CREDENTIAL_KEY',
    });
    process.env.REINS_TEST_CREDENTIAL_KEY = pem;
    const source = credentialKeySource(
      resolveKeySource('credentials', { env: 'REINS_TEST_CREDENTIAL_KEY' }, directory),
    );
    await withAuthenticator(source, async (auth) => {
      const { token } = await auth.issue('bot');
      expect(decodeProtectedHeader(token).kid).toBe(keyIdOf(createPublicKey(pem)));
      expect((await auth.authenticate(token)).ok).toBe(true);
    });
    const bad = credentialKeySource(
      resolveKeySource('credentials', { env: 'REINS_TEST_NO_SUCH_KEY' }, directory),
    );
    await expect(bad.load()).rejects.toThrow('environment variable REINS_TEST_NO_SUCH_KEY is not set');
  });
});

describe('rotation', () => {
  it('credentials: old tokens verify until they expire, new ones use the new key, in a process started before', async () => {
    const keys = join(directory, 'credentials');
    expect(reins('keys', 'generate', '--purpose', 'credentials', '--credential-keys', keys).code).toBe(0);
    const old = reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys).stdout.trim();
    let later = 0; // how far the test moves the authenticator's clock ahead
    await withAuthenticator(
      directoryKeySource(keys),
      async (running) => {
        expect((await running.authenticate(old)).ok).toBe(true);
        const rotated = reins('keys', 'rotate', '--purpose', 'credentials', '--credential-keys', keys);
        expect(rotated.code, rotated.stderr).toBe(0);
        expect(rotated.stdout).toMatch(/now signing with (\S+); (\S+) verifies until/);
        const fresh = reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys).stdout.trim();
        expect(decodeProtectedHeader(fresh).kid).not.toBe(decodeProtectedHeader(old).kid);
        // the running process notices the rotation: the new token and the old one both verify
        expect((await running.authenticate(fresh)).ok).toBe(true);
        expect((await running.authenticate(old)).ok).toBe(true);
        expect(decodeProtectedHeader((await running.issue('bot')).token).kid).toBe(
          decodeProtectedHeader(fresh).kid,
        );
        // a day later the retired key verifies nothing any more
        later = 24 * 3_600_000 + 60_000;
        expect((await running.jwks()).keys.map((key) => key.kid)).toEqual([decodeProtectedHeader(fresh).kid]);
      },
      () => Date.now() + later,
    );
  });

  it('checkpoints: checkpoints signed with a retired key still verify, for good', async () => {
    const keys = join(directory, 'checkpoints');
    expect(reins('keys', 'generate', '--purpose', 'checkpoints', '--checkpoint-keys', keys).code).toBe(0);
    const options = { db: join(directory, 'audit.db'), checkpointKeys: keys };
    const first = await openWritableAuditLog(options, {}, () => {});
    for (let index = 1; index <= 5; index++) await first.append(intentEvent(index));
    await first.close(); // signs a final checkpoint with the first key
    const oldKey = verificationKey(options) as KeyObject[];
    expect(reins('keys', 'rotate', '--purpose', 'checkpoints', '--checkpoint-keys', keys).stdout).toContain(
      'verifies for good',
    );
    const second = await openWritableAuditLog(options, {}, () => {});
    for (let index = 6; index <= 10; index++) await second.append(intentEvent(index));
    await second.close();
    const verified = reins('audit', 'verify', '--db', options.db, '--checkpoint-keys', keys);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/10 records, chain intact, 2 checkpoints \(signatures checked\)/);
    // only the old key: the new checkpoint does not verify (so both keys were really used)
    const oldPublic = join(directory, 'old-checkpoint-key.pub.pem');
    writeFileSync(oldPublic, (oldKey[0] as KeyObject).export({ format: 'pem', type: 'spki' }));
    expect(reins('audit', 'verify', '--db', options.db, '--public-key', oldPublic).code).toBe(1);
  });
});

describe('a KMS-style signer', () => {
  it('signs credentials without the private key ever reaching Reins', async () => {
    // what a KMS adapter looks like: the key stays behind `sign`, Reins only sees bytes and the public key
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    let calls = 0;
    const kms: Signer = {
      keyId: keyIdOf(publicKey),
      publicKey,
      async sign(data) {
        calls += 1;
        return sign(null, data, privateKey);
      },
    };
    const source: CredentialKeySource = {
      description: 'example KMS',
      load: async () => ({ signer: kms, retired: [] }),
    };
    await withAuthenticator(source, async (auth) => {
      const { token } = await auth.issue('bot');
      expect(calls).toBe(1);
      expect((await auth.authenticate(token)).ok).toBe(true);
    });
    // a token signed by another key that claims the KMS key's kid is refused
    await withAuthenticator(source, async (auth) => {
      const impostor: CredentialKeySource = {
        description: 'impostor',
        load: async () => ({
          signer: { ...localSigner(generateKeyPairSync('ed25519').privateKey), keyId: kms.keyId },
          retired: [],
        }),
      };
      await expect(
        Authenticator.open({ store: new SqliteIdentityStore({ path: db }), keys: impostor }),
      ).rejects.toThrow('does not name its public key');
      expect((await auth.jwks()).keys).toHaveLength(1);
    });
  });
});

describe('migration from keys in the store', () => {
  it('deletes credential keys an earlier version kept in the store, saying so, and never trusts them', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const database = new Database(db);
    database.prepare('insert into signing_keys (kid, body) values (?, ?)').run(
      'legacy',
      JSON.stringify({
        kid: 'legacy',
        privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
        publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }),
        createdAt: '2026-01-01T00:00:00.000Z',
      }),
    );
    database.close();
    const keys = join(directory, 'credentials');
    expect(reins('keys', 'generate', '--purpose', 'credentials', '--credential-keys', keys).code).toBe(0);
    const token = reins('agents', 'token', 'bot', '--db', db, '--credential-keys', keys);
    expect(token.code).toBe(0);
    expect(token.stderr).toContain(
      'deleted 1 credential signing key(s) an earlier version kept in the store',
    );
    const after = new Database(db, { readonly: true });
    expect(after.prepare('select count(*) from signing_keys').pluck().get()).toBe(0);
    after.close();
  });

  it('retires the checkpoint key kept beside the log into the new key directory', async () => {
    const legacy = join(directory, 'audit-signing-key.pem');
    const legacyKey = generateKeyPairSync('ed25519').privateKey;
    writeFileSync(legacy, legacyKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    const options = { db: join(directory, 'audit.db'), keysBase: join(directory, 'deployment') };
    const log = new SqliteAuditLog({
      path: options.db,
      signer: new (await import('../src/audit/checkpoint.js')).CheckpointSigner(legacyKey),
    });
    await log.append(intentEvent(1));
    await log.close();
    const messages: string[] = [];
    const reopened = await openWritableAuditLog(options, {}, (line) => messages.push(line));
    await reopened.append(intentEvent(2));
    await reopened.close();
    expect(messages.join('\n')).toContain('created the checkpoints signing key');
    expect(messages.join('\n')).toContain(`the checkpoint key \`${legacy}\` beside the log is retired`);
    const report = await new SqliteAuditLog({ path: options.db, readOnly: true }).verify({
      publicKey: verificationKey(options) as KeyObject[],
    });
    expect(report).toMatchObject({ ok: true, checked: 2, checkpointsVerified: 2 });
  });
});
