/**
 * @module keys/key-source
 * Which key source a process uses for each purpose (credentials, checkpoints), and loading it. Every
 * process of a deployment resolves the same way: an explicit choice (CLI flag or `keys:` in reins.yaml),
 * else the environment (`REINS_<PURPOSE>_KEY` holding a PEM, `REINS_<PURPOSE>_KEYS` naming a key
 * directory), else the default key directory `.reins-keys/<purpose>` in the deployment's home (the
 * directory of reins.yaml, or the one the SQLite store implies), which is never the store's directory.
 * A shared store (PostgreSQL) has no default: its processes run on several hosts and in several
 * directories, and a key each of them picked for itself would split one log's identity (issue 14), so
 * a process that names no source is refused. A key directory is created only when it does not exist at
 * all, only if it is the default or named in reins.yaml of an embedded deployment, and only by a process
 * that starts a deployment (gateway, serve, an audit log writer) or `reins keys generate`, with a
 * message saying where. Issuing a token never creates a key; a file or environment source never is.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type CredentialKeySource, localSigner } from '../identity/key-ring.js';
import { ReinsError } from '../spec/errors.js';
import { keyIdOf } from '../spec/key-id.js';
import {
  createKeyDirectory,
  directoryStamp,
  loadKeyDirectory,
  parsePrivateKey,
  type RetiredKey,
  readPrivateKeyFile,
} from './key-directory.js';
import { creatableKeyMissing, describeKeySource, type ResolvedKeySource } from './key-resolution.js';

export {
  creatableKeyMissing,
  DEFAULT_KEY_DIRECTORY,
  describeKeySource,
  KEY_PURPOSES,
  type KeyPurpose,
  namedKeySource,
  type ResolvedKeySource,
  resolveKeySource,
} from './key-resolution.js';

/** Creates a missing creatable key directory on first start, saying so; anything else must exist already. */
export function createKeysIfMissing(resolved: ResolvedKeySource, log: (line: string) => void): void {
  if (!creatableKeyMissing(resolved) || !('directory' in resolved.source)) return;
  const kid = createKeyDirectory(resolved.source.directory);
  log(
    `created the ${resolved.purpose} signing key ${kid} in ${resolved.source.directory} (mode 0700, key 0600; keep it out of backups of the store; docs/identity.md)`,
  );
}

export interface LoadedKeys {
  readonly privateKey: KeyObject;
  readonly retired: readonly RetiredKey[];
}

/** Reads the private key (and retired public keys) from the source; an unusable source is an error. */
export function loadKeys(resolved: ResolvedKeySource, env: NodeJS.ProcessEnv = process.env): LoadedKeys {
  const { source } = resolved;
  if ('directory' in source) return loadKeyDirectory(source.directory);
  if ('file' in source) {
    if (!existsSync(source.file))
      throw new ReinsError('key_unavailable', `no signing key file \`${source.file}\``);
    return { privateKey: readPrivateKeyFile(source.file), retired: [] };
  }
  const pem = env[source.env];
  if (!pem)
    throw new ReinsError(
      'key_unavailable',
      `environment variable ${source.env} is not set (it should hold the ${resolved.purpose} signing key, PKCS#8 PEM)`,
    );
  return { privateKey: parsePrivateKey(pem, `environment variable ${source.env}`), retired: [] };
}

/** The public keys that verify what this source signed: the current one and every retired one. */
export function verificationKeys(keys: LoadedKeys, now: Date = new Date()): KeyObject[] {
  return [
    createPublicKey(keys.privateKey),
    ...keys.retired
      .filter((key) => key.verifyUntil === undefined || key.verifyUntil > now)
      .map((key) => key.publicKey),
  ];
}

/** The credential key source the authenticator uses; it notices a rotation by another process. */
export function credentialKeySource(resolved: ResolvedKeySource): CredentialKeySource {
  const directory = 'directory' in resolved.source ? resolved.source.directory : undefined;
  let stamp = directory ? directoryStamp(directory) : '';
  return {
    description: describeKeySource(resolved),
    load: async () => {
      if (directory) stamp = directoryStamp(directory);
      const keys = loadKeys(resolved);
      return {
        signer: localSigner(keys.privateKey),
        retired: keys.retired.map((key) => ({
          publicKey: key.publicKey,
          ...(key.verifyUntil ? { verifyUntil: key.verifyUntil } : {}),
        })),
      };
    },
    changed: () => directory !== undefined && directoryStamp(directory) !== stamp,
  };
}

/** `ed25519:<16 hex>` of a private key's public half, for messages. */
export function keyIdOfPrivate(privateKey: KeyObject): string {
  return keyIdOf(createPublicKey(privateKey));
}

/** The credential key source of one key directory (as `keys: { credentials: { directory } }` names it). */
export function directoryKeySource(directory: string): CredentialKeySource {
  return credentialKeySource({ purpose: 'credentials', source: { directory }, creatable: false });
}
