// Unit tests of key source resolution: a named source wins, the embedded default lives in the
// deployment's home, and a shared store (no home) has no default at all (issue 14).
import { generateKeyPairSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveKeySource } from './key-source.js';

const PEM = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

describe('resolveKeySource', () => {
  it('uses the explicit source first, then the environment', () => {
    expect(
      resolveKeySource('checkpoints', { file: '/k.pem' }, undefined, { REINS_CHECKPOINT_KEY: PEM }),
    ).toEqual({
      purpose: 'checkpoints',
      source: { file: '/k.pem' },
      creatable: false,
    });
    expect(
      resolveKeySource('checkpoints', undefined, undefined, { REINS_CHECKPOINT_KEY: PEM }).source,
    ).toEqual({
      env: 'REINS_CHECKPOINT_KEY',
    });
    expect(
      resolveKeySource('credentials', undefined, undefined, { REINS_CREDENTIAL_KEYS: 'keys/credentials' })
        .source,
    ).toEqual({ directory: resolve('keys/credentials') });
  });

  it('defaults to .reins-keys/<purpose> in the home it is given, which a starting deployment may create', () => {
    expect(resolveKeySource('checkpoints', undefined, '/srv/reins', {})).toEqual({
      purpose: 'checkpoints',
      source: { directory: join('/srv/reins', '.reins-keys', 'checkpoints') },
      creatable: true,
    });
  });

  it('has no default without a home (a shared store), and says how to name a source', () => {
    expect(() => resolveKeySource('checkpoints', undefined, undefined, { REINS_CHECKPOINT_KEY: '' })).toThrow(
      /no checkpoint signing key named: on a shared store \(PostgreSQL\).*keys\.checkpoints.*--checkpoint-keys.*REINS_CHECKPOINT_KEY /,
    );
    expect(() => resolveKeySource('credentials', undefined, undefined, {})).toThrow(
      /no credential signing key named.*keys\.credentials.*--credential-keys.*REINS_CREDENTIAL_KEY /,
    );
  });
});
