/**
 * @module store/signing-key
 * The Ed25519 key that signs audit checkpoints: loaded from a PKCS#8 PEM file, or created there (mode
 * 0600) on first use. Its public key is what `reins audit verify` checks signatures against; keep a
 * copy of it away from the log (an intruder who can rewrite the log must not also choose the key).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeError, ReinsError } from '../spec/errors.js';

export const SIGNING_KEY_FILE = 'audit-signing-key.pem';
export const DEFAULT_SIGNING_KEY_PATH = `.reins/${SIGNING_KEY_FILE}`;

export function loadOrCreateSigningKey(path: string): KeyObject {
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(path), { recursive: true });
    // wx: never overwrite a key another process created meanwhile
    try {
      writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if (!existsSync(path))
        throw new ReinsError(
          'audit_unavailable',
          `cannot create signing key \`${path}\`: ${describeError(error)}`,
        );
    }
  }
  try {
    const key = createPrivateKey(readFileSync(path));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`);
    return key;
  } catch (error) {
    throw new ReinsError('audit_unavailable', `cannot read signing key \`${path}\`: ${describeError(error)}`);
  }
}

/** Reads a public key (SPKI PEM), or derives it from a private key file. */
export function loadPublicKey(path: string): KeyObject {
  try {
    const text = readFileSync(path);
    return text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text);
  } catch (error) {
    throw new ReinsError('audit_unavailable', `cannot read public key \`${path}\`: ${describeError(error)}`);
  }
}

export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}
