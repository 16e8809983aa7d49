/**
 * @module cli/deployment
 * Which deployment a command acts on, resolved the same way for every command (issue 12), so that a
 * command run from another directory acts on the same store, key directories and lock:
 * `--config <reins.yaml>`, else `REINS_CONFIG`, else `./reins.yaml` when there is one, else the
 * defaults of the working directory (`.reins/audit.db`, and `.reins-keys/` beside the store, see
 * cli/store-location keysHomeOf; a PostgreSQL store has no default keys). A configuration named by the
 * flag or the variable that does not exist is an error, never a fallback to the defaults. Explicit
 * flags (`--db`, `--database-url`, `--durability`, `--lock`, `--policy`, the key flags) override what
 * the configuration says. A command that reads or acts on a deployment refuses when it finds none (no
 * configuration, no store named, none at the default place) instead of creating an empty one there.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { creatableKeyMissing, KEY_PURPOSES } from '../keys/key-resolution.js';
import { loadGatewayConfig } from '../loader/gateway-config-file.js';
import { formatProblem } from '../policy/policy-problem.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditDurability, GatewayConfig } from '../spec/gateway-config.js';
import { CONFIG_ENV } from './command-context.js';
import { type CliIo, DEFAULT_AUDIT_PATH, describeFully } from './io.js';
import { TOKEN_ENV } from './operator-auth.js';
import { keySourceOf, type StoreOptions, stateDirectoryOf, storeOptionsOfConfig } from './store-location.js';

export { CONFIG_ENV };
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

/** The policy of the deployment a command is given or finds (cli/deployment); undefined after saying why not. */
export function deploymentPolicy(
  command: string,
  options: { config?: string },
  io: CliIo,
): string[] | undefined {
  try {
    const { policy } = resolveDeployment({
      ...(options.config !== undefined ? { config: options.config } : {}),
    });
    if (policy !== undefined) return [policy];
    io.err(
      `reins ${command}: give a policy path, or a configuration that names one (--config, ${CONFIG_ENV})`,
    );
  } catch (error) {
    io.err(`reins ${command}: ${describeFully(error)}`);
  }
  return undefined;
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

/**
 * What a command does with its deployment. `start`: it may start one, creating its store and keys
 * (agents create, keys generate, mcp). `first-user`: users create, which starts one only to create its
 * first admin, so only without a token (a token is of a deployment that exists). `store`, `keys`,
 * `lock`: it reads or acts on an existing deployment's store, keys or tool lock, and refuses when there
 * is none. `config`: it runs from the configuration file (gateway, serve).
 */
export type DeploymentUse = 'start' | 'first-user' | 'store' | 'keys' | 'lock' | 'config';

/** The flags that say which deployment, and the operator token that says the deployment exists. */
export type GivenFlags = DeploymentFlags & {
  readonly credentialKeys?: string;
  readonly checkpointKeys?: string;
  readonly signingKey?: string;
  readonly tokenFile?: string;
};

/**
 * The option values a command runs with once its deployment is resolved: what it was given, with the
 * store, key sources, lock and policy of the deployment filled in (given flags win).
 */
export function deploymentOptionValues(
  use: DeploymentUse,
  given: GivenFlags,
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
  requireExisting(use, given, deployment, env, cwd);
  return {
    ...deployment.store,
    lock: deployment.lock,
    ...(deployment.policy !== undefined ? { policy: deployment.policy } : {}),
    ...(deployment.configFile ? { config: deployment.configFile.path } : {}),
    ...(deployment.config ? { checkpointPublication: deployment.config.audit.checkpoints.publish } : {}),
    ...(deployment.config?.telemetry.traces ? { traces: deployment.config.telemetry.traces } : {}),
  };
}

/**
 * Fail closed before anything is opened: a command run in the wrong directory, or on a store or
 * configuration that was never started, used to create an empty store and keys there and report on
 * them ("ok: 0 records, chain intact").
 */
function requireExisting(
  use: Exclude<DeploymentUse, 'config'>,
  given: GivenFlags,
  deployment: Deployment,
  env: Environment,
  cwd: string,
): void {
  if (use === 'start') return;
  const tokenGiven = given.tokenFile !== undefined || Boolean(env[TOKEN_ENV]?.trim());
  if (use === 'first-user' && !tokenGiven) return;
  const { store } = deployment;
  const postgres = Boolean(store.databaseUrl ?? env.REINS_DATABASE_URL);
  const storePath = resolve(cwd, store.db ?? DEFAULT_AUDIT_PATH);
  if (postgres || existsSync(storePath)) return;
  const named = deployment.configFile !== undefined || given.db !== undefined;
  if (use === 'keys' && (named || keysNamedOrPresent(given, store))) return;
  if (use === 'lock' && (named || given.lock !== undefined || existsSync(resolve(cwd, deployment.lock))))
    return;
  if (given.db !== undefined)
    throw new ReinsError(
      'not_found',
      `--db names \`${storePath}\`, which does not exist; ${NOTHING_CREATED}`,
    );
  if (deployment.configFile !== undefined) {
    const { path, origin } = deployment.configFile;
    throw new ReinsError(
      'not_found',
      `the deployment of \`${path}\` (${origin}) has not started: its store \`${storePath}\` does not exist; ${NOTHING_CREATED}`,
    );
  }
  throw new ReinsError('not_found', noDeploymentHere(use, cwd, storePath));
}

const NOTHING_CREATED =
  'nothing was created (a deployment is started by `reins serve`, `reins gateway`, `reins mcp`, `reins agents create` or `reins users create`)';

/** Some key source is named (flag, configuration, environment) or its default directory exists. */
function keysNamedOrPresent(given: GivenFlags, store: StoreOptions): boolean {
  const flags = (['credentialKeys', 'checkpointKeys', 'signingKey'] as const).flatMap((name) =>
    given[name] !== undefined ? [[name, given[name]]] : [],
  );
  const keys: StoreOptions = { ...store, ...Object.fromEntries(flags) };
  return KEY_PURPOSES.some((purpose) => {
    const resolved = keySourceOf(purpose, keys);
    return !resolved.creatable || !creatableKeyMissing(resolved);
  });
}

function noDeploymentHere(use: DeploymentUse, cwd: string, storePath: string): string {
  const also =
    use === 'first-user'
      ? '; to start a new deployment with its first admin, run `reins users create` without a token'
      : '';
  return `no deployment here: no --config, no ${CONFIG_ENV}, no ${CONFIG_FILE} in ${cwd}, and no store at ${storePath}. Point at a deployment with --config <reins.yaml> or ${CONFIG_ENV}=<reins.yaml> (or at its store with --db or --database-url)${also}; nothing was created`;
}
