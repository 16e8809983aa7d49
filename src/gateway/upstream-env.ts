/**
 * @module gateway/upstream-env
 * The environment a stdio upstream is started with. An upstream is code Reins does not trust, and the
 * gateway's own environment holds what reaches the store (`REINS_DATABASE_URL`, key material): from
 * there an upstream could read the signing keys, mint credentials and rewrite the log. So an upstream
 * never inherits the gateway's environment. It gets:
 * - a few variables that locate the user and the locale and hold no secret (BASE_ENVIRONMENT),
 * - the variables the operator names (`inheritEnv` in reins.yaml, `reins mcp --env NAME`), never `REINS_*`,
 * - the values the operator writes (`env` in reins.yaml, `reins mcp --env NAME=value`).
 */
import { DEFAULT_INHERITED_ENV_VARS } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ReinsError } from '../spec/errors.js';

/**
 * Passed on when set. The MCP SDK's stdio transport always adds its own list (HOME, LOGNAME, PATH,
 * SHELL, TERM, USER on POSIX), so that list is part of ours; we add the locale, the time zone and the
 * temporary directory, which programs need to behave and which carry no credentials.
 */
export const BASE_ENVIRONMENT: readonly string[] = [
  ...new Set([...DEFAULT_INHERITED_ENV_VARS, 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR']),
];

export interface UpstreamEnvSettings {
  /** Explicit values. */
  readonly env: Readonly<Record<string, string>>;
  /** Names passed on from the gateway's environment, when set there. */
  readonly inheritEnv?: readonly string[] | undefined;
}

/** The whole environment of the upstream process. */
export function upstreamEnvironment(
  settings: UpstreamEnvSettings,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const name of [...BASE_ENVIRONMENT, ...(settings.inheritEnv ?? [])]) {
    const value = parent[name];
    // like the SDK: a shell function exported in the environment is never passed on
    if (value !== undefined && !value.startsWith('()')) environment[name] = value;
  }
  return { ...environment, ...settings.env };
}

/** `--env NAME` (pass on) and `--env NAME=value` (set), as `reins mcp` takes them; names are checked by the schema. */
export function parseEnvOptions(values: readonly string[]): {
  env: Record<string, string>;
  inheritEnv: string[];
} {
  const env: Record<string, string> = {};
  const inheritEnv: string[] = [];
  for (const value of values) {
    const equals = value.indexOf('=');
    if (equals === 0)
      throw new ReinsError('invalid_input', `invalid --env \`${value}\`: give NAME or NAME=value`);
    if (equals < 0) inheritEnv.push(value);
    else env[value.slice(0, equals)] = value.slice(equals + 1);
  }
  return { env, inheritEnv };
}
