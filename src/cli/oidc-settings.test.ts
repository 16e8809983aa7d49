/**
 * @module cli/oidc-settings.test
 * The OIDC client secret comes from the file or environment variable reins.yaml names; a named
 * secret that is missing or empty stops the start, and no message ever holds the secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OidcConfigSchema } from '../spec/oidc-config.js';
import { oidcSettings } from './oidc-settings.js';

const directory = mkdtempSync(join(tmpdir(), 'reins-oidc-settings-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function config(clientSecret?: unknown) {
  return OidcConfigSchema.parse({
    issuer: 'https://login.example.com',
    clientId: 'reins',
    ...(clientSecret ? { clientSecret } : {}),
    redirectUri: 'https://reins.example.com/v1/auth/oidc/callback',
    roles: { ops: ['viewer'] },
  });
}

describe('the OIDC client secret', () => {
  it('is read from a file relative to reins.yaml, or from the environment, trimmed', () => {
    writeFileSync(join(directory, 'secret'), 's3cret-from-file\n');
    expect(oidcSettings(config({ file: 'secret' }), directory).clientSecret).toBe('s3cret-from-file');
    expect(
      oidcSettings(config({ env: 'OIDC_SECRET' }), directory, { OIDC_SECRET: ' s3cret ' }).clientSecret,
    ).toBe('s3cret');
    expect(oidcSettings(config(), directory).clientSecret).toBeUndefined(); // a public client
  });

  it('stops the start when the named secret is missing or empty, without showing it', () => {
    writeFileSync(join(directory, 'empty'), '\n');
    expect(() => oidcSettings(config({ file: 'absent' }), directory)).toThrow(/cannot read .*absent.*ENOENT/);
    expect(() => oidcSettings(config({ file: 'empty' }), directory)).toThrow(/missing or empty/);
    expect(() => oidcSettings(config({ env: 'OIDC_SECRET' }), directory, {})).toThrow(
      /`OIDC_SECRET` is missing/,
    );
  });
});
