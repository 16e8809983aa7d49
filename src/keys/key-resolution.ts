/**
 * @module keys/key-resolution
 * Which key source each purpose (credentials, checkpoints) uses, resolved the same way in every process
 * of a deployment (keys/key-source explains the order, and re-exports this). Apart from loading the
 * keys because resolving touches no key: a command finds its deployment with this alone (cli/deployment,
 * before `reins mcp` starts its upstream), and loading keys and signing (jose) loads later.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ReinsError } from '../spec/errors.js';
import type { KeySource } from '../spec/gateway-config.js';

export type KeyPurpose = 'credentials' | 'checkpoints';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['credentials', 'checkpoints'];
export const DEFAULT_KEY_DIRECTORY = '.reins-keys';

const ENVIRONMENT: Record<KeyPurpose, { pem: string; directory: string }> = {
  credentials: { pem: 'REINS_CREDENTIAL_KEY', directory: 'REINS_CREDENTIAL_KEYS' },
  checkpoints: { pem: 'REINS_CHECKPOINT_KEY', directory: 'REINS_CHECKPOINT_KEYS' },
};

export interface ResolvedKeySource {
  readonly purpose: KeyPurpose;
  readonly source: KeySource;
  /** The default key directory or one named in reins.yaml: a starting deployment may create it. */
  readonly creatable: boolean;
}

/** The source named for `purpose`: `explicit`, else the environment; undefined when none is. */
export function namedKeySource(
  purpose: KeyPurpose,
  explicit: KeySource | undefined,
  env: NodeJS.ProcessEnv = process.env,
): KeySource | undefined {
  if (explicit) return explicit;
  const names = ENVIRONMENT[purpose];
  if (env[names.pem]) return { env: names.pem };
  const directory = env[names.directory];
  return directory ? { directory: resolve(directory) } : undefined;
}

/**
 * The key source for `purpose`: the named one, else `<home>/.reins-keys/<purpose>`. Without a `home`
 * (a shared store) there is no default, and naming none is an error that lists the ways to name one.
 */
export function resolveKeySource(
  purpose: KeyPurpose,
  explicit: KeySource | undefined,
  home: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedKeySource {
  const named = namedKeySource(purpose, explicit, env);
  if (named) return { purpose, source: named, creatable: false };
  if (home === undefined) throw noSharedKeySource(purpose);
  return {
    purpose,
    source: { directory: resolve(home, DEFAULT_KEY_DIRECTORY, purpose) },
    creatable: true,
  };
}

const WAYS_TO_NAME: Record<KeyPurpose, string> = {
  credentials:
    '`keys.credentials` in reins.yaml ({ directory | file | env }, relative to the file), --credential-keys <dir>, or the environment: REINS_CREDENTIAL_KEY (the PKCS#8 PEM) or REINS_CREDENTIAL_KEYS (a key directory)',
  checkpoints:
    '`keys.checkpoints` in reins.yaml ({ directory | file | env }, relative to the file), --checkpoint-keys <dir> or --signing-key <file>, or the environment: REINS_CHECKPOINT_KEY (the PKCS#8 PEM), REINS_CHECKPOINT_KEYS (a key directory) or REINS_SIGNING_KEY (a key file)',
};

function noSharedKeySource(purpose: KeyPurpose): ReinsError {
  const [key, flag] =
    purpose === 'credentials' ? ['credential', '--credential-keys'] : ['checkpoint', '--checkpoint-keys'];
  return new ReinsError(
    'key_unavailable',
    `no ${key} signing key named: on a shared store (PostgreSQL) every process of the deployment must sign with the same key, so none is picked or created where a process happens to run. Name it with ${WAYS_TO_NAME[purpose]}; \`reins keys generate --purpose ${purpose} ${flag} <dir>\` creates a key directory to give every host (docs/identity.md#signing-keys)`,
  );
}

export function describeKeySource(resolved: ResolvedKeySource): string {
  const { source } = resolved;
  if ('directory' in source) return `key directory \`${source.directory}\``;
  if ('file' in source) return `key file \`${source.file}\``;
  return `environment variable ${source.env}`;
}

/** Is there no key directory yet where it may be created (first start of a deployment)? */
export function creatableKeyMissing(resolved: ResolvedKeySource): boolean {
  return resolved.creatable && 'directory' in resolved.source && !existsSync(resolved.source.directory);
}
