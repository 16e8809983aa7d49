/**
 * @module cli/audit-store
 * Picks the concrete audit store for a command: PostgreSQL when a connection string is given
 * (`--database-url` or `REINS_DATABASE_URL`), otherwise the embedded SQLite file. Also loads the
 * checkpoint signing key and the public key used to verify.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CheckpointSigner } from '../audit/checkpoint.js';
import { PolicyWatcher } from '../loader/policy-watcher.js';
import { MemoryGuard } from '../memory/memory-guard.js';
import { formatProblem } from '../policy/policy-problem.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditDurability } from '../spec/gateway-config.js';
import type { AuditLog, AuditLogOptions } from '../store/audit-log.js';
import { PostgresAuditLog } from '../store/postgres/postgres-audit-log.js';
import { PostgresIdentityStore } from '../store/postgres/postgres-identity-store.js';
import { PostgresOversightStore } from '../store/postgres/postgres-oversight-store.js';
import {
  DEFAULT_SIGNING_KEY_PATH,
  loadOrCreateSigningKey,
  loadPublicKey,
  SIGNING_KEY_FILE,
} from '../store/signing-key.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../store/sqlite/sqlite-identity-store.js';
import { SqliteMemoryLabelIndex } from '../store/sqlite/sqlite-memory-labels.js';
import { SqliteOversightStore } from '../store/sqlite/sqlite-oversight-store.js';
import type { ApprovalStore, IdentityStore, SessionControlStore } from '../store/state-stores.js';
import { DEFAULT_AUDIT_PATH } from './io.js';

const MEMORY_LABELS_FILE = 'memory-labels.db';

export interface StoreOptions {
  /** SQLite file (embedded default). */
  readonly db?: string;
  /** PostgreSQL connection string; wins over `db`. Default: `REINS_DATABASE_URL`. */
  readonly databaseUrl?: string;
  /** Ed25519 signing key (PKCS#8 PEM). Default: `REINS_SIGNING_KEY` or `.reins/audit-signing-key.pem`. */
  readonly signingKey?: string;
  /** Embedded store: `full` (default) fsyncs every audit commit, `process` does not (decision 0010). */
  readonly durability?: AuditDurability;
}

export function databaseUrlOf(options: StoreOptions): string | undefined {
  return options.databaseUrl ?? (process.env.REINS_DATABASE_URL || undefined);
}

/** Default: next to the SQLite log (`.reins/audit-signing-key.pem` for the default log and for PostgreSQL). */
export function signingKeyPathOf(options: StoreOptions): string {
  const explicit = options.signingKey ?? (process.env.REINS_SIGNING_KEY || undefined);
  if (explicit) return explicit;
  if (databaseUrlOf(options) || options.db === undefined) return DEFAULT_SIGNING_KEY_PATH;
  return join(dirname(options.db), SIGNING_KEY_FILE);
}

/** The memory guard's label file: next to the SQLite log (`.reins/` for the default log and for PostgreSQL). */
export function memoryLabelsPathOf(options: StoreOptions): string {
  if (databaseUrlOf(options) || options.db === undefined)
    return join(dirname(DEFAULT_AUDIT_PATH), MEMORY_LABELS_FILE);
  return join(dirname(options.db), MEMORY_LABELS_FILE);
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

/** Opens the log for writing, signing checkpoints with the configured key (created on first use). */
export async function openWritableAuditLog(
  options: StoreOptions,
  checkpoints: Pick<AuditLogOptions, 'checkpointEvery' | 'onCheckpoint'> = {},
): Promise<AuditLog> {
  const signer = new CheckpointSigner(loadOrCreateSigningKey(signingKeyPathOf(options)));
  const url = databaseUrlOf(options);
  if (url) return PostgresAuditLog.open({ connectionString: url, signer, ...checkpoints });
  return new SqliteAuditLog({
    path: options.db ?? DEFAULT_AUDIT_PATH,
    signer,
    durability: options.durability ?? 'full',
    ...checkpoints,
  });
}

/** Opens the log for reading only; a missing SQLite file is an error, not an empty log. */
export async function openReadableAuditLog(options: StoreOptions): Promise<AuditLog> {
  const url = databaseUrlOf(options);
  if (url) return PostgresAuditLog.open({ connectionString: url });
  const path = options.db ?? DEFAULT_AUDIT_PATH;
  // fail closed: reading a log that is not there must not look like reading an empty one
  if (!existsSync(path))
    throw new ReinsError('not_found', `no audit log at \`${path}\` (use --db or --database-url)`);
  return new SqliteAuditLog({ path, readOnly: true });
}

/** The keys checkpoint signatures are checked against, and where they came from (for the report). */
export interface VerificationKeys {
  readonly keys: KeyObject[];
  /** `given`: --public-key; `beside-log`: derived from the signing key file the log is written with. */
  readonly source: 'given' | 'beside-log' | 'none';
  readonly path?: string;
}

/**
 * Explicit public keys (several during a key rotation), else the local signing key's public key, which
 * sits where the log is written from: whoever can replace that file can also re-sign a rewritten log.
 */
export function verificationKeys(options: StoreOptions & { publicKey?: string[] }): VerificationKeys {
  if (options.publicKey && options.publicKey.length > 0)
    return { keys: options.publicKey.map(loadPublicKey), source: 'given' };
  const path = signingKeyPathOf(options);
  return existsSync(path)
    ? { keys: [loadPublicKey(path)], source: 'beside-log', path }
    : { keys: [], source: 'none' };
}

/** The key to check checkpoint signatures with: an explicit public key, else the local signing key's. */
export function verificationKey(options: StoreOptions & { publicKey?: string }): KeyObject | undefined {
  return verificationKeys({ ...options, publicKey: options.publicKey ? [options.publicKey] : [] }).keys[0];
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured database';
  }
}

/** The identity store on the same backing store as the audit log. */
export async function openIdentityStore(options: StoreOptions): Promise<IdentityStore> {
  const url = databaseUrlOf(options);
  if (url) return PostgresIdentityStore.open({ connectionString: url });
  return new SqliteIdentityStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}

/** Loads and watches a policy, reporting reloads and rejected versions through `log`. */
export function watchPolicy(path: string, log: (line: string) => void): PolicyWatcher {
  return new PolicyWatcher({
    path,
    onReload: (event) =>
      log(
        event.kind === 'policy-reloaded'
          ? `policy reloaded: ${event.hash}`
          : `new policy rejected, ${event.keptHash} stays in force:\n${event.problems.map(formatProblem).join('\n')}`,
      ),
  }).start();
}

/** Approval requests, overrides and session control, on the same store as the audit log. */
export interface OversightStores {
  readonly approvals: ApprovalStore;
  readonly sessions: SessionControlStore;
  close(): Promise<void>;
}

export async function openOversightStores(options: StoreOptions): Promise<OversightStores> {
  const url = databaseUrlOf(options);
  if (url) return PostgresOversightStore.open({ connectionString: url });
  return new SqliteOversightStore({ path: options.db ?? DEFAULT_AUDIT_PATH });
}
