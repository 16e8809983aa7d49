/**
 * @module store/signing-key
 * Public keys for checking checkpoint signatures: a SPKI PEM file (what `reins audit public-key`
 * prints), or the public half of a private key file. Also the name of the key file versions before
 * decision 0011 kept beside the log. Nothing here creates a key: a deployment's keys come from its key
 * source (keys/), and a library user hands the log a `CheckpointSigner` of its own.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeError, ReinsError } from '../spec/errors.js';

/** Where versions before decision 0011 kept the checkpoint key: beside the SQLite log. */
export const SIGNING_KEY_FILE = 'audit-signing-key.pem';

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
