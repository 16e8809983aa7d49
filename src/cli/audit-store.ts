/**
 * @module cli/audit-store
 * Picks the concrete audit store for a command: PostgreSQL when a connection string is given
 * (`--database-url` or `REINS_DATABASE_URL`), otherwise the embedded SQLite file. Also loads the keys
 * of the key sources (credentials, checkpoints; decision 0011) cli/store-location picks: the
 * checkpoint signing key and the public keys used to verify. The PostgreSQL backends (and their driver) load when a store names PostgreSQL,
 * not with every command on the embedded store.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckpointKeys, CheckpointSigner } from '../audit/checkpoint.js';
import type { CredentialKeySource } from '../identity/key-ring.js';
import { retirePublicKey } from '../keys/key-directory.js';
import {
  creatableKeyMissing,
  createKeysIfMissing,
  credentialKeySource,
  loadKeys,
  type ResolvedKeySource,
  verificationKeys as sourceVerificationKeys,
} from '../keys/key-source.js';
import { MemoryGuard } from '../memory/memory-guard.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditLog, AuditLogOptions } from '../store/audit-log.js';
import { loadPublicKey, SIGNING_KEY_FILE } from '../store/signing-key.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { SqliteMemoryLabelIndex } from '../store/sqlite/sqlite-memory-labels.js';
import { SqliteOversightStore } from '../store/sqlite/sqlite-oversight-store.js';
import type { ApprovalStore, CounterStore, SessionControlStore } from '../store/state-stores.js';
import { DEFAULT_AUDIT_PATH } from './io.js';
import {
  databaseUrlOf,
  keySourceNamed,
  keySourceOf,
  type StoreOptions,
  stateDirectoryOf,
} from './store-location.js';

// where the store and keys are, and the identity store: apart, so that finding a command's deployment
// and checking `reins mcp`'s agent before its upstream starts load none of this module's stores and keys
export { openIdentityStore } from './identity-store.js';
export {
  databaseUrlOf,
  keySourceNamed,
  keySourceOf,
  keysHomeOf,
  type StoreOptions,
  stateDirectoryOf,
  storeOptionsOfConfig,
} from './store-location.js';

const MEMORY_LABELS_FILE = 'memory-labels.db';

/** The credential key source; `create`: a starting gateway creates the default key directory (saying so). */
export function credentialKeysOf(
  options: StoreOptions,
  create?: { log: (line: string) => void },
): CredentialKeySource {
  const resolved = keySourceOf('credentials', options);
  if (create) createKeysIfMissing(resolved, create.log);
  return credentialKeySource(resolved);
}

/** Where versions before decision 0011 kept the checkpoint key: beside the SQLite log. */
function legacyCheckpointKeyPath(options: StoreOptions): string {
  return join(stateDirectoryOf(options), SIGNING_KEY_FILE);
}

/**
 * A writer creates the default checkpoint key directory on first use (saying so). A key an earlier
 * version kept beside the log is retired into it, so that the checkpoints it signed still verify.
 */
function prepareCheckpointKeys(options: StoreOptions, log: (line: string) => void): ResolvedKeySource {
  const resolved = keySourceOf('checkpoints', options);
  if (!creatableKeyMissing(resolved) || !('directory' in resolved.source)) return resolved;
  createKeysIfMissing(resolved, log);
  const legacy = legacyCheckpointKeyPath(options);
  if (existsSync(legacy)) {
    retirePublicKey(resolved.source.directory, loadPublicKey(legacy), new Date());
    log(
      `the checkpoint key \`${legacy}\` beside the log is retired (its checkpoints still verify); keep a copy elsewhere and delete it (docs/decisions/0011-key-custody.md)`,
    );
  }
  return resolved;
}

/** The memory guard's label file: next to the SQLite log (`.reins/` for the default log and for PostgreSQL). */
export function memoryLabelsPathOf(options: StoreOptions): string {
  return join(stateDirectoryOf(options), MEMORY_LABELS_FILE);
}

/** The memory guard, opened on first use (most gateways front no memory server). */
export function memoryGuardOf(
  options: StoreOptions,
  cleanup: (close: () => Promise<void>) => void,
): () => MemoryGuard {
  return () => {
    const index = new SqliteMemoryLabelIndex(memoryLabelsPathOf(options));
    cleanup(() => index.close());
    return new MemoryGuard(index);
  };
}

/** Where the log is, for messages. */
export function describeStore(options: StoreOptions): string {
  const url = databaseUrlOf(options);
  return url ? redactUrl(url) : (options.db ?? DEFAULT_AUDIT_PATH);
}

/** Opens the log for writing, signing checkpoints with the configured key (the default one created on first use). */
export async function openWritableAuditLog(
  options: StoreOptions,
  checkpoints: Pick<AuditLogOptions, 'checkpointEvery' | 'onCheckpoint' | 'onCommit'> = {},
  log: (line: string) => void = (line) => process.stderr.write(`reins: ${line}\n`),
): Promise<AuditLog> {
  const signer = new CheckpointSigner(checkpointSigningKey(options, log));
  const checkpointEvery = checkpoints.checkpointEvery ?? options.checkpointEvery;
  const signing = { ...checkpoints, ...(checkpointEvery !== undefined ? { checkpointEvery } : {}) };
  const url = databaseUrlOf(options);
  if (url) {
    const { PostgresAuditLog } = await import('../store/postgres/postgres-audit-log.js');
    return PostgresAuditLog.open({ connectionString: url, signer, ...signing });
  }
  return new SqliteAuditLog({
    path: options.db ?? DEFAULT_AUDIT_PATH,
    signer,
    durability: options.durability ?? 'causal',
    ...signing,
  });
}

/**
 * The store of an audit log named on the command line: a `postgres://` URL, or a SQLite file (which
 * then wins over REINS_DATABASE_URL: a file was named).
 */
export function storeOfLog(location: string): StoreOptions {
  if (/^postgres(ql)?:\/\//.test(location)) return { databaseUrl: location };
  return { db: location, databaseUrl: '' };
}

/** Opens the log for reading only; a missing SQLite file is an error, not an empty log. */
export async function openReadableAuditLog(options: StoreOptions): Promise<AuditLog> {
  const url = databaseUrlOf(options);
  if (url) {
    const { PostgresAuditLog } = await import('../store/postgres/postgres-audit-log.js');
    return PostgresAuditLog.open({ connectionString: url });
  }
  const path = options.db ?? DEFAULT_AUDIT_PATH;
  // fail closed: reading a log that is not there must not look like reading an empty one
  if (!existsSync(path))
    throw new ReinsError(
      'not_found',
      `no audit log at \`${path}\` (name the deployment with --config or REINS_CONFIG, or the log with --db or --database-url)`,
    );
  return new SqliteAuditLog({ path, readOnly: true });
}

/** The keys checkpoint signatures are checked against, and where they came from (for the report). */
export interface VerificationKeys {
  readonly keys: KeyObject[];
  /**
   * `given`: --public-key; `key-source`: the configured checkpoint key source (current and retired
   * keys); `beside-log`: the key file an earlier version kept beside the log; `none`: no key at all.
   */
  readonly source: 'given' | 'key-source' | 'beside-log' | 'none';
  readonly path?: string;
}

/**
 * Explicit public keys (several during a key rotation), else the checkpoint key source's current and
 * retired keys (checkpoint keys verify for good), else (embedded store only) the key an earlier version
 * kept beside the log, which whoever can replace it can re-sign a rewritten log with.
 */
export function verificationKeys(options: StoreOptions & { publicKey?: string[] }): VerificationKeys {
  if (options.publicKey && options.publicKey.length > 0)
    return { keys: options.publicKey.map(loadPublicKey), source: 'given' };
  // a shared store has no default key, nor a key an earlier version kept beside it: only a named source
  if (databaseUrlOf(options) !== undefined)
    return keySourceNamed('checkpoints', options)
      ? { keys: sourceVerificationKeys(loadKeys(keySourceOf('checkpoints', options))), source: 'key-source' }
      : { keys: [], source: 'none' };
  const resolved = keySourceOf('checkpoints', options);
  if (creatableKeyMissing(resolved)) {
    const legacy = legacyCheckpointKeyPath(options);
    return existsSync(legacy)
      ? { keys: [loadPublicKey(legacy)], source: 'beside-log', path: legacy }
      : { keys: [], source: 'none' };
  }
  return { keys: sourceVerificationKeys(loadKeys(resolved)), source: 'key-source' };
}

/** The keys to check checkpoint signatures with (see verificationKeys); none: undefined. */
export function verificationKey(options: StoreOptions & { publicKey?: string }): CheckpointKeys | undefined {
  const { keys } = verificationKeys({ ...options, publicKey: options.publicKey ? [options.publicKey] : [] });
  return keys.length > 0 ? keys : undefined;
}

/** The private key that signs checkpoints, from the checkpoint key source (the default one created on first use). */
export function checkpointSigningKey(options: StoreOptions, log: (line: string) => void): KeyObject {
  return loadKeys(prepareCheckpointKeys(options, log)).privateKey;
}

/**
 * The private checkpoint key of an existing key source, never creating one (`reins backup` signs its
 * manifest with it: a key made up on the spot would be trusted by nothing that restores).
 */
export function existingCheckpointSigningKey(options: StoreOptions): KeyObject {
  const resolved = keySourceOf('checkpoints', options);
  if (creatableKeyMissing(resolved))
    throw new ReinsError(
      'key_unavailable',
      'no checkpoint key (--checkpoint-keys, --signing-key, keys.checkpoints of reins.yaml, or the default key directory of a started deployment)',
    );
  return loadKeys(resolved).privateKey;
}

/** The current checkpoint public key (PEM), for `reins audit public-key`. */
export function checkpointPublicKeyPem(options: StoreOptions): string {
  const keys = loadKeys(keySourceOf('checkpoints', options));
  return createPublicKey(keys.privateKey).export({ format: 'pem', type: 'spki' }).toString();
}

/** A connection string as it may be printed: the userinfo password and secret query parameters hidden. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of ['password', 'sslpassword'])
      if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.toString();
  } catch {
    return 'the configured database';
  }
}

/** Approval requests, overrides and session control, on the same store as the audit log. */
export interface OversightStores {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  readonly counters: CounterStore;
  close(): Promise<void>;
}

export async function openOversightStores(options: StoreOptions): Promise<OversightStores> {
  const url = databaseUrlOf(options);
  if (url) {
    const { PostgresOversightStore } = await import('../store/postgres/postgres-oversight-store.js');
    return PostgresOversightStore.open({ connectionString: url });
  }
  return new SqliteOversightStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}
