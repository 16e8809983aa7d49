/**
 * @module spec/key-id
 * `ed25519:<16 hex>`: a short, stable name for a public key, derived from the key itself (SHA-256 of
 * its SPKI encoding). Credentials and checkpoints name the key that signed them this way, so a key id
 * never has to be stored next to the key, and a key id cannot be claimed for another key.
 */
import { createHash, type KeyObject } from 'node:crypto';

export function keyIdOf(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' });
  return `ed25519:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}
