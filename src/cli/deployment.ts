/**
 * @module cli/deployment
 * Which deployment a command acts on, resolved the same way for every command (issue 12), so that a
 * command run from another directory acts on the same store, key directories and lock:
 * `--config <reins.yaml>`, else `REINS_CONFIG`, else `./reins.yaml` when there is one, else the
 * defaults of the working directory (`.reins/audit.db`, `.reins-keys/`). A configuration named by the
 * flag or the variable that does not exist is an error, never a fallback to the defaults. Explicit
 * flags (`--db`, `--database-url`, `--durability`, `--lock`, `--policy`, the key flags) override what
 * the configuration says.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { formatProblem } from '../policy/policy-problem.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditDurability, GatewayConfig } from '../spec/gateway-config.js';
import { type StoreOptions, stateDirectoryOf, storeOptionsOfConfig } from './audit-store.js';

export const CONFIG_ENV = 'REINS_CONFIG';
export const CONFIG_FILE = 'reins.yaml';
export const LOCK_FILE = 'reins.lock';

/** A configuration file in use, and how it was found. */
export interface ConfigFile {
  readonly path: string;
  readonly origin: '--config' | typeof CONFIG_ENV | `./${typeof CONFIG_FILE}`;
}

/** What a command was given on its command line that the deployment can also say. */
export interface DeploymentFlags {
  readonly config?: string;
  readonly db?: string;
  readonly databaseUrl?: string;
  readonly durability?: AuditDurability;
  readonly lock?: string;
  readonly policy?: string;
  readonly checkpointEvery?: number;
}

export interface Deployment {
  /** Absent: no configuration, the defaults of the working directory. */
  readonly configFile?: ConfigFile;
  readonly config?: GatewayConfig;
  /** The store and key sources, flags over the configuration. */
  readonly store: StoreOptions;
  /** The tool definition lock: `--lock`, else the configuration's, else beside the store. */
  readonly lock: string;
  /** The policy: `--policy`, else the configuration's. */
  readonly policy?: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The configuration file: `--config`, else REINS_CONFIG, else ./reins.yaml if present; a named one must exist. */
export function findConfigFile(
  flag: string | undefined,
  env: Environment,
  cwd: string,
): ConfigFile | undefined {
  if (flag !== undefined) return existing(resolve(cwd, flag), '--config');
  const named = env[CONFIG_ENV];
  if (named) return existing(resolve(cwd, named), CONFIG_ENV);
  const local = join(cwd, CONFIG_FILE);
  return existsSync(local) ? { path: local, origin: `./${CONFIG_FILE}` } : undefined;
}

function existing(path: string, origin: ConfigFile['origin']): ConfigFile {
  // fail closed: acting on the defaults of this directory instead would touch another deployment
  if (!existsSync(path))
    throw new ReinsError('not_found', `${origin} names \`${path}\`, which does not exist`);
  return { path, origin };
}

/** Loads a configuration; its problems (file:line:column each) become one error. */
export function loadConfigOrThrow(path: string): { config: GatewayConfig; directory: string } {
  const loaded = loadGatewayConfig(path);
  if (!loaded.ok) throw new ReinsError('invalid_input', loaded.problems.map(formatProblem).join('\n'));
  return loaded;
}

/** The deployment a command acts on: flags, then the configuration found, then the defaults. */
export function resolveDeployment(
  flags: DeploymentFlags,
  env: Environment = process.env,
  cwd: string = process.cwd(),
): Deployment {
  const configFile = findConfigFile(flags.config, env, cwd);
  const loaded = configFile ? loadConfigOrThrow(configFile.path) : undefined;
  const store = storeOf(flags, loaded);
  const lock = flags.lock ?? loaded?.config.lock;
  const policy = flags.policy ?? loaded?.config.policy;
  return {
    ...(configFile ? { configFile } : {}),
    ...(loaded ? { config: loaded.config } : {}),
    store,
    lock: lock ?? join(stateDirectoryOf(store), LOCK_FILE),
    ...(policy !== undefined ? { policy } : {}),
  };
}

/** An explicit `--db` or `--database-url` replaces the configuration's store; keys stay the configuration's. */
function storeOf(flags: DeploymentFlags, loaded: { config: GatewayConfig; directory: string } | undefined) {
  const configured: StoreOptions = loaded ? storeOptionsOfConfig(loaded.config, loaded.directory) : {};
  const { db: _db, databaseUrl: _url, ...keysAndCadence } = configured;
  const explicit = flags.db !== undefined || flags.databaseUrl !== undefined;
  const durability = flags.durability ?? configured.durability;
  const checkpointEvery = flags.checkpointEvery ?? configured.checkpointEvery;
  return {
    ...(explicit ? keysAndCadence : configured),
    ...(flags.db !== undefined ? { db: flags.db } : {}),
    ...(flags.databaseUrl !== undefined ? { databaseUrl: flags.databaseUrl } : {}),
    ...(durability !== undefined ? { durability } : {}),
    ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
  } satisfies StoreOptions;
}

/** `store`: the command acts on the deployment's store (and keys, lock); `config`: it runs from the configuration file (gateway, serve). */
export type DeploymentUse = 'store' | 'config';

/**
 * The option values a command runs with once its deployment is resolved: what it was given, with the
 * store, key sources, lock and policy of the deployment filled in (given flags win).
 */
export function deploymentOptionValues(
  use: DeploymentUse,
  given: DeploymentFlags,
  env: Environment = process.env,
  cwd: string = process.cwd(),
): Record<string, unknown> {
  if (use === 'config') {
    const file = findConfigFile(given.config, env, cwd);
    if (file === undefined)
      throw new ReinsError(
        'invalid_input',
        `no configuration: give --config <reins.yaml>, set ${CONFIG_ENV}, or run where a ${CONFIG_FILE} is`,
      );
    return { config: file.path };
  }
  const deployment = resolveDeployment(given, env, cwd);
  return {
    ...deployment.store,
    lock: deployment.lock,
    ...(deployment.policy !== undefined ? { policy: deployment.policy } : {}),
    ...(deployment.configFile ? { config: deployment.configFile.path } : {}),
    ...(deployment.config ? { checkpointPublication: deployment.config.audit.checkpoints.publish } : {}),
  };
}
