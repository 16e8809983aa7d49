/**
 * @module cli/oidc-settings
 * `control.oidc` of reins.yaml made ready for the control plane: the client secret read from the file
 * (relative to reins.yaml) or the environment variable the configuration names. A named secret that
 * is missing or empty stops the start (fail closed: never a silent public client), and the secret
 * itself never appears in a message.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { OidcSettings } from '../api/oidc-sign-in.js';
import { ReinsError } from '../spec/errors.js';
import type { OidcConfig } from '../spec/oidc-config.js';

export function oidcSettings(
  config: OidcConfig,
  directory: string,
  env: NodeJS.ProcessEnv = process.env,
): OidcSettings {
  const { clientSecret, ...rest } = config;
  if (clientSecret === undefined) return rest;
  return { ...rest, clientSecret: readSecret(clientSecret, directory, env) };
}

function readSecret(
  source: NonNullable<OidcConfig['clientSecret']>,
  directory: string,
  env: NodeJS.ProcessEnv,
): string {
  let secret: string | undefined;
  let where: string;
  if ('file' in source) {
    const path = resolve(directory, source.file);
    where = `the file \`${path}\``;
    try {
      secret = readFileSync(path, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ReinsError('invalid_input', `control.oidc.clientSecret: cannot read ${where} (${code})`);
    }
  } else {
    where = `the environment variable \`${source.env}\``;
    secret = env[source.env]?.trim();
  }
  if (!secret)
    throw new ReinsError('invalid_input', `control.oidc.clientSecret: ${where} is missing or empty`);
  return secret;
}
