/**
 * @module identity/key-ring
 * The Ed25519 keys that sign agent credentials. The newest key that is not retired signs; every key
 * that may still have valid tokens out there verifies, looked up by `kid`. Rotation adds a key and
 * retires the old one, which keeps verifying until the tokens it signed have expired. Pure: the
 * identity store persists the records.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, importPKCS8, importSPKI, type JWK } from 'jose';
import type { SigningKeyRecordV1 } from '../spec/identity.js';

interface LoadedKey {
  readonly record: SigningKeyRecordV1;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
}

export class KeyRing {
  private constructor(private readonly keys: ReadonlyMap<string, LoadedKey>) {}

  static async load(records: readonly SigningKeyRecordV1[]): Promise<KeyRing> {
    const keys = new Map<string, LoadedKey>();
    for (const record of records) {
      keys.set(record.kid, {
        record,
        privateKey: await importPKCS8(record.privateKeyPem, 'EdDSA'),
        publicKey: await importSPKI(record.publicKeyPem, 'EdDSA'),
      });
    }
    return new KeyRing(keys);
  }

  /** A new signing key record (not yet stored). */
  static generate(now: Date): SigningKeyRecordV1 {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    return {
      kid: `${now.toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      createdAt: now.toISOString(),
    };
  }

  /** The key new tokens are signed with: the newest that is not retired. */
  signingKey(): { kid: string; privateKey: CryptoKey } | undefined {
    let newest: LoadedKey | undefined;
    for (const key of this.keys.values()) {
      if (key.record.retiredAt !== undefined) continue;
      if (newest === undefined || key.record.createdAt > newest.record.createdAt) newest = key;
    }
    return newest ? { kid: newest.record.kid, privateKey: newest.privateKey } : undefined;
  }

  /** The key that verifies tokens with this `kid`, unless it expired. */
  verificationKey(kid: string, now: Date): CryptoKey | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) return undefined;
    if (key.record.expiresAt !== undefined && key.record.expiresAt <= now.toISOString()) return undefined;
    return key.publicKey;
  }

  /** JSON Web Key Set of every key that may still verify a token, for other services. */
  async jwks(now: Date): Promise<{ keys: JWK[] }> {
    const keys: JWK[] = [];
    for (const key of this.keys.values()) {
      if (key.record.expiresAt !== undefined && key.record.expiresAt <= now.toISOString()) continue;
      keys.push({ ...(await exportJWK(key.publicKey)), kid: key.record.kid, alg: 'EdDSA', use: 'sig' });
    }
    return { keys };
  }
}
