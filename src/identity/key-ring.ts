/**
 * @module identity/key-ring
 * The Ed25519 keys of agent credentials, as the authenticator sees them: one `Signer` that signs new
 * tokens and the public keys that verify them, looked up by `kid`. Where the keys come from is a
 * `CredentialKeySource` (a key directory, an environment variable, a KMS; see docs/decisions/0011):
 * never the identity store, so that reading or writing the database is not enough to mint a
 * credential. Rotation happens in the source; a retired key keeps verifying until the tokens it
 * signed have expired. Pure: no file or network access here.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { keyIdOf } from '../spec/key-id.js';

/**
 * Signs with an Ed25519 key it may never reveal. A KMS or HSM implements this: `sign` receives the
 * JWS signing input and returns the raw 64-byte Ed25519 signature.
 */
export interface Signer {
  /** Must be `keyIdOf(publicKey)`: the kid in every token it signs. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A public key that still verifies tokens, until `verifyUntil` (a retired key) or for good. */
export interface VerificationKey {
  readonly publicKey: KeyObject;
  readonly verifyUntil?: Date;
}

export interface CredentialKeys {
  readonly signer: Signer;
  /** Retired keys; the signer's own public key always verifies and need not be listed. */
  readonly retired: readonly VerificationKey[];
}

/** Where the authenticator gets its keys; every process of a deployment must use the same source. */
export interface CredentialKeySource {
  /** Human-readable, for messages (`key directory /etc/reins/keys/credentials`). */
  readonly description: string;
  load(): Promise<CredentialKeys>;
  /** Cheap: could `load` give something new (another process rotated the key)? Default: never. */
  changed?(): boolean;
}

/** A signer for a private key held in this process. */
export function localSigner(privateKey: KeyObject): Signer {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private')
    throw new TypeError(`a credential signing key must be a private Ed25519 key`);
  const publicKey = createPublicKey(privateKey);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    sign: async (data) => sign(null, data, privateKey),
  };
}

/** A key source held in memory: for tests and for libraries that manage keys themselves. */
export function memoryKeySource(keys: CredentialKeys): CredentialKeySource & { rotate(now: Date): void } {
  let current = keys;
  let version = 0;
  let loaded = -1;
  return {
    description: 'keys held in memory',
    load: async () => {
      loaded = version;
      return current;
    },
    changed: () => loaded !== version,
    rotate(now) {
      version += 1;
      const verifyUntil = new Date(now.getTime() + MAX_TOKEN_LIFETIME_MS);
      current = {
        signer: localSigner(generateKeyPairSync('ed25519').privateKey),
        retired: [...current.retired, { publicKey: current.signer.publicKey, verifyUntil }],
      };
    },
  };
}

/** A fresh in-memory source with a new random key. */
export function ephemeralKeySource(): ReturnType<typeof memoryKeySource> {
  return memoryKeySource({ signer: localSigner(generateKeyPairSync('ed25519').privateKey), retired: [] });
}

/** The longest a credential may live; revocations and retired keys are kept this long. */
export const MAX_TOKEN_LIFETIME_MS = 24 * 3_600_000;

export class KeyRing {
  private constructor(
    readonly signer: Signer,
    private readonly verifying: ReadonlyMap<string, VerificationKey>,
  ) {}

  static fromKeys(keys: CredentialKeys): KeyRing {
    if (keys.signer.keyId !== keyIdOf(keys.signer.publicKey))
      throw new TypeError(`signer key id \`${keys.signer.keyId}\` does not name its public key`);
    const verifying = new Map<string, VerificationKey>();
    for (const key of keys.retired) verifying.set(keyIdOf(key.publicKey), key);
    verifying.set(keys.signer.keyId, { publicKey: keys.signer.publicKey });
    return new KeyRing(keys.signer, verifying);
  }

  /** The key that verifies tokens with this `kid`, unless it was retired long enough ago. */
  verificationKey(kid: string, now: Date): KeyObject | undefined {
    const key = this.verifying.get(kid);
    if (key === undefined) return undefined;
    if (key.verifyUntil !== undefined && key.verifyUntil <= now) return undefined;
    return key.publicKey;
  }

  /** JSON Web Key Set of every key that may still verify a token, for other services. */
  async jwks(now: Date): Promise<{ keys: JWK[] }> {
    const keys: JWK[] = [];
    for (const [kid, key] of this.verifying) {
      if (key.verifyUntil !== undefined && key.verifyUntil <= now) continue;
      keys.push({ ...(await exportJWK(key.publicKey)), kid, alg: 'EdDSA', use: 'sig' });
    }
    return { keys };
  }
}
