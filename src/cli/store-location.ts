/**
 * @module cli/store-location
 * Where a command's store and signing keys are, from its options (flags, reins.yaml, the environment):
 * the SQLite file or the PostgreSQL connection string, the deployment's state directory and home, and
 * the key source of each purpose (keys/key-resolution). Paths and names only, nothing opened: apart from
 * cli/audit-store (which re-exports it) so that resolving a command's deployment (cli/deployment) loads
 * no store or key code, and `reins mcp` starts its upstream sooner (issue 20).
 */
import { basename, dirname, resolve } from 'node:path';
import {
  type KeyPurpose,
  namedKeySource,
  type ResolvedKeySource,
  resolveKeySource,
} from '../keys/key-resolution.js';
import type { AuditDurability, GatewayConfig, KeySource, KeysConfig } from '../spec/gateway-config.js';
import { DEFAULT_AUDIT_PATH } from './io.js';

export interface StoreOptions {
  /** SQLite file (embedded default). */
  readonly db?: string;
  /** PostgreSQL connection string; wins over `db`. Default: `REINS_DATABASE_URL`. */
  readonly databaseUrl?: string;
  /** Checkpoint key file (PKCS#8 PEM, mode 0600): `--signing-key`, or `REINS_SIGNING_KEY`. */
  readonly signingKey?: string;
  /** Key directories: `--credential-keys`, `--checkpoint-keys`. */
  readonly credentialKeys?: string;
  readonly checkpointKeys?: string;
  /** `keys:` of reins.yaml (paths already resolved against its directory). */
  readonly keys?: KeysConfig;
  /** Where the default key directories `.reins-keys/<purpose>` are: reins.yaml's directory (see keysHomeOf). */
  readonly keysBase?: string;
  /** Embedded store: `full` (default) fsyncs every audit commit, `process` does not (decision 0010). */
  readonly durability?: AuditDurability;
  /** The cadence checkpoints are signed (and verified) at: `audit.checkpoints.every` of reins.yaml. */
  readonly checkpointEvery?: number;
}

/** The store and key sources a reins.yaml names, as every command given `--config` opens them. */
export function storeOptionsOfConfig(config: GatewayConfig, directory: string): StoreOptions {
  return {
    db: config.store.sqlite,
    durability: config.store.durability,
    ...(config.store.databaseUrl ? { databaseUrl: config.store.databaseUrl } : {}),
    keys: config.keys,
    keysBase: directory,
    checkpointEvery: config.audit.checkpoints.every,
  };
}

export function databaseUrlOf(options: StoreOptions): string | undefined {
  return options.databaseUrl ?? (process.env.REINS_DATABASE_URL || undefined);
}

/**
 * Where a deployment keeps what it writes besides the log when its configuration does not say (the
 * memory labels; the tool lock without a reins.yaml): the SQLite log's directory, or `.reins/` for the
 * default log and for PostgreSQL.
 */
export function stateDirectoryOf(options: StoreOptions): string {
  if (databaseUrlOf(options) || options.db === undefined) return dirname(DEFAULT_AUDIT_PATH);
  return dirname(options.db);
}

/**
 * The key source for `purpose`: a CLI flag, else reins.yaml, else the environment, else the default
 * directory in the deployment's home. A shared store has none (keys/key-source): naming none is an error.
 */
export function keySourceOf(purpose: KeyPurpose, options: StoreOptions): ResolvedKeySource {
  const shared = databaseUrlOf(options) !== undefined;
  const resolved = resolveKeySource(
    purpose,
    explicitKeySource(purpose, options),
    shared ? undefined : keysHomeOf(options),
  );
  // a directory reins.yaml names is as deliberate as the default: a starting embedded deployment may
  // create it; the replicas of a shared store would each create their own, so they never do
  const configured = options.keys?.[purpose];
  return !shared && configured !== undefined && resolved.source === configured && 'directory' in configured
    ? { ...resolved, creatable: true }
    : resolved;
}

/** Is a key source named for `purpose` (flag, reins.yaml, environment), the default aside? */
export function keySourceNamed(purpose: KeyPurpose, options: StoreOptions): boolean {
  return namedKeySource(purpose, explicitKeySource(purpose, options)) !== undefined;
}

/**
 * Where the default key directories `.reins-keys/<purpose>` are: reins.yaml's directory, else the
 * directory the SQLite store implies (the one holding its `.reins/` directory, or the store file's own),
 * so that every process on one store file finds the same keys whatever directory it started in.
 */
export function keysHomeOf(options: StoreOptions): string {
  if (options.keysBase !== undefined) return options.keysBase;
  const state = dirname(resolve(options.db ?? DEFAULT_AUDIT_PATH));
  return basename(state) === dirname(DEFAULT_AUDIT_PATH) ? dirname(state) : state;
}

function explicitKeySource(purpose: KeyPurpose, options: StoreOptions): KeySource | undefined {
  const directory = purpose === 'credentials' ? options.credentialKeys : options.checkpointKeys;
  if (directory) return { directory: resolve(directory) };
  if (options.keys?.[purpose]) return options.keys[purpose];
  if (purpose === 'checkpoints') {
    const file = options.signingKey ?? (process.env.REINS_SIGNING_KEY || undefined);
    if (file) return { file: resolve(file) };
  }
  return undefined;
}
