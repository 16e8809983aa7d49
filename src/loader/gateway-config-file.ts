/**
 * @module loader/gateway-config-file
 * Reads and validates the gateway configuration (`reins.yaml`). Problems are reported at
 * file:line:column; relative paths (policy, store, upstream working directories) are resolved against
 * the file's directory, so the gateway behaves the same whatever directory it is started from.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { PolicyProblem } from '../policy/policy-problem.js';
import { YamlSource } from '../policy/yaml-source.js';
import { describeError } from '../spec/errors.js';
import { type GatewayConfig, GatewayConfigSchema, type KeySource } from '../spec/gateway-config.js';

export type LoadGatewayConfigResult =
  | { ok: true; config: GatewayConfig; directory: string }
  | { ok: false; problems: PolicyProblem[] };

/** The checkpoint publication directory, relative to the configuration file like every other path. */
function publishDirectoryResolved(
  config: GatewayConfig,
  here: (relative: string) => string,
): GatewayConfig['audit'] {
  const { checkpoints } = config.audit;
  const { directory } = checkpoints.publish;
  if (directory === undefined) return config.audit;
  return { checkpoints: { ...checkpoints, publish: { ...checkpoints.publish, directory: here(directory) } } };
}

export function loadGatewayConfig(path: string): LoadGatewayConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return {
      ok: false,
      problems: [{ file: path, line: 0, column: 0, message: `cannot read: ${describeError(error)}` }],
    };
  }
  const parsed = YamlSource.parse(path, text);
  if (parsed.problems.length > 0) return { ok: false, problems: parsed.problems };
  const validated = parsed.source.validate(GatewayConfigSchema);
  if (validated.value === undefined) return { ok: false, problems: validated.problems };
  const directory = dirname(resolve(path));
  const here = (relative: string) => (isAbsolute(relative) ? relative : resolve(directory, relative));
  const config = validated.value;
  return {
    ok: true,
    directory,
    config: {
      ...config,
      policy: here(config.policy),
      lock: here(config.lock),
      store: { ...config.store, sqlite: here(config.store.sqlite) },
      keys: {
        ...(config.keys.credentials ? { credentials: resolveKeySource(config.keys.credentials, here) } : {}),
        ...(config.keys.checkpoints ? { checkpoints: resolveKeySource(config.keys.checkpoints, here) } : {}),
      },
      audit: publishDirectoryResolved(config, here),
      upstreams: config.upstreams.map((upstream) =>
        'stdio' in upstream
          ? { ...upstream, stdio: { ...upstream.stdio, cwd: here(upstream.stdio.cwd ?? '.') } }
          : upstream,
      ),
    },
  };
}

function resolveKeySource(source: KeySource, here: (relative: string) => string): KeySource {
  if ('directory' in source) return { directory: here(source.directory) };
  if ('file' in source) return { file: here(source.file) };
  return source;
}
