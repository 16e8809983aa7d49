/**
 * @module keys/key-directory
 * Signing keys kept in files, with strict permissions (decision 0011). A key directory (mode 0700)
 * holds the current private key, `signing-key.pem` (PKCS#8 PEM, mode 0600), and in `retired/` one
 * JSON file per retired key with its PUBLIC key only, so that what it signed still verifies: until
 * `verifyUntil` for credentials, for good for audit checkpoints. A private key that group or others can
 * read, or that another user owns, is refused rather than used.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describeError, ReinsError } from '../spec/errors.js';
import { keyIdOf } from '../spec/key-id.js';

export const CURRENT_KEY_FILE = 'signing-key.pem';
const RETIRED = 'retired';

const RetiredKeySchema = z.strictObject({
  v: z.literal(1),
  keyId: z.string(),
  publicKeyPem: z.string(),
  retiredAt: z.string(),
  /** ISO 8601; absent: verifies for good. */
  verifyUntil: z.string().optional(),
});

export interface RetiredKey {
  readonly publicKey: KeyObject;
  readonly retiredAt: Date;
  readonly verifyUntil?: Date;
}

export interface DirectoryKeys {
  readonly privateKey: KeyObject;
  readonly retired: readonly RetiredKey[];
}

const fail = (message: string) => new ReinsError('key_unavailable', message);

/** Refuses a key file or directory that group or others may access, or that another user owns. */
export function assertPrivate(path: string): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw fail(`cannot read \`${path}\`: ${describeError(error)}`);
  }
  const loose = stat.mode & 0o077;
  if (loose !== 0) {
    const wanted = stat.isDirectory() ? '0700' : '0600';
    throw fail(
      `\`${path}\` is accessible to group or others (mode ${(stat.mode & 0o777).toString(8)}): a signing key must be private; run \`chmod ${wanted} ${path}\``,
    );
  }
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && stat.uid !== uid)
    throw fail(`\`${path}\` belongs to another user (uid ${stat.uid}): a signing key must be private`);
}

/** Reads a private Ed25519 key from a PKCS#8 PEM file with strict permissions. */
export function readPrivateKeyFile(path: string): KeyObject {
  assertPrivate(path);
  return parsePrivateKey(readFileSync(path, 'utf8'), `\`${path}\``);
}

/** Parses a PKCS#8 PEM Ed25519 private key; `where` names it in errors. */
export function parsePrivateKey(pem: string, where: string): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`);
    return key;
  } catch (error) {
    throw fail(`cannot read the signing key in ${where}: ${describeError(error)}`);
  }
}

/** Writes a new private key file, 0600, never over an existing one. */
export function writePrivateKeyFile(path: string, key: KeyObject): void {
  writeFileSync(path, key.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
}

/** Creates a key directory (0700) with a fresh key; refuses one that already holds a key. */
export function createKeyDirectory(directory: string): string {
  if (existsSync(join(directory, CURRENT_KEY_FILE)))
    throw new ReinsError('conflict', `\`${directory}\` already holds a signing key`);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  assertPrivate(directory);
  const { privateKey } = generateKeyPairSync('ed25519');
  writePrivateKeyFile(join(directory, CURRENT_KEY_FILE), privateKey);
  return keyIdOf(createPublicKey(privateKey));
}

/** The current key and the retired ones; a missing directory or key is an error. */
export function loadKeyDirectory(directory: string): DirectoryKeys {
  if (!existsSync(directory))
    throw fail(`no key directory \`${directory}\`: create it with \`reins keys generate\``);
  assertPrivate(directory);
  const current = join(directory, CURRENT_KEY_FILE);
  if (!existsSync(current))
    throw fail(
      `no signing key in \`${directory}\` (expected ${CURRENT_KEY_FILE}): run \`reins keys generate\``,
    );
  return { privateKey: readPrivateKeyFile(current), retired: readRetired(directory) };
}

function readRetired(directory: string): RetiredKey[] {
  const folder = join(directory, RETIRED);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .map((name) => {
      const path = join(folder, name);
      try {
        const record = RetiredKeySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
        const publicKey = createPublicKey(record.publicKeyPem);
        if (keyIdOf(publicKey) !== record.keyId) throw new Error('the key id does not match the key');
        return {
          publicKey,
          retiredAt: new Date(record.retiredAt),
          ...(record.verifyUntil ? { verifyUntil: new Date(record.verifyUntil) } : {}),
        };
      } catch (error) {
        throw fail(`cannot read retired key \`${path}\`: ${describeError(error)}`);
      }
    });
}

/** Keeps a public key for verification in `retired/` (for good when `verifyUntil` is absent). */
export function retirePublicKey(
  directory: string,
  publicKey: KeyObject,
  now: Date,
  verifyUntil?: Date,
): void {
  const folder = join(directory, RETIRED);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const keyId = keyIdOf(publicKey);
  const record = {
    v: 1,
    keyId,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    retiredAt: now.toISOString(),
    ...(verifyUntil ? { verifyUntil: verifyUntil.toISOString() } : {}),
  };
  writeFileSync(join(folder, `${keyId.replace(':', '-')}.json`), `${JSON.stringify(record, null, 2)}\n`, {
    mode: 0o600,
  });
}

/**
 * Rotation: a new current key; the old one's public key is kept in `retired/` (until `verifyUntil`).
 * The new key is written beside the old and renamed over it, so a reader sees one or the other.
 */
export function rotateKeyDirectory(
  directory: string,
  now: Date,
  verifyUntil?: Date,
): { from: string; to: string } {
  const old = loadKeyDirectory(directory).privateKey;
  const { privateKey } = generateKeyPairSync('ed25519');
  const staged = join(directory, `${CURRENT_KEY_FILE}.new`);
  if (existsSync(staged)) unlinkSync(staged);
  writePrivateKeyFile(staged, privateKey);
  retirePublicKey(directory, createPublicKey(old), now, verifyUntil);
  renameSync(staged, join(directory, CURRENT_KEY_FILE));
  return { from: keyIdOf(createPublicKey(old)), to: keyIdOf(createPublicKey(privateKey)) };
}

/** Changes when the directory's key or retired keys change (for reloading in running processes). */
export function directoryStamp(directory: string): string {
  const stamp = (path: string) => {
    try {
      const stat = statSync(path);
      return `${stat.mtimeMs}:${stat.ino}`;
    } catch {
      return '-';
    }
  };
  return [stamp(join(directory, CURRENT_KEY_FILE)), stamp(join(directory, RETIRED))].join('/');
}
