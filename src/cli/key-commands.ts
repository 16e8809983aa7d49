/**
 * @module cli/key-commands
 * `reins keys generate|rotate|show`: the signing keys of credentials and of audit checkpoints, in the
 * key sources every process of the deployment resolves the same way (`--config reins.yaml`, the
 * `--credential-keys`/`--checkpoint-keys` flags, the environment, or `.reins-keys/<purpose>` of an
 * embedded deployment; a shared store names its keys).
 * Rotation needs a key directory: a retired credential key verifies until every token it signed has
 * expired, a retired checkpoint key for good (decision 0011).
 */
import { createPublicKey } from 'node:crypto';
import { MAX_TOKEN_LIFETIME_MS } from '../identity/key-ring.js';
import { createKeyDirectory, rotateKeyDirectory } from '../keys/key-directory.js';
import {
  describeKeySource,
  KEY_PURPOSES,
  type KeyPurpose,
  loadKeys,
  type ResolvedKeySource,
} from '../keys/key-source.js';
import { describeError, ReinsError } from '../spec/errors.js';
import { keyIdOf } from '../spec/key-id.js';
import { keySourceOf, type StoreOptions } from './audit-store.js';
import { type CliIo, EXIT_ERROR, EXIT_OK } from './io.js';

export type KeyCommandOptions = StoreOptions & { config?: string; purpose?: string };

/** The key sources of the deployment the command line resolved (cli/deployment); key flags win. */
function sourcesOf(options: KeyCommandOptions): ResolvedKeySource[] {
  if (options.purpose !== undefined && !KEY_PURPOSES.includes(options.purpose as KeyPurpose))
    throw new ReinsError(
      'invalid_input',
      `--purpose must be credentials or checkpoints, got \`${options.purpose}\``,
    );
  const purposes = options.purpose ? [options.purpose as KeyPurpose] : KEY_PURPOSES;
  return purposes.map((purpose) => keySourceOf(purpose, options));
}

function directoryOf(resolved: ResolvedKeySource, verb: string): string {
  if ('directory' in resolved.source) return resolved.source.directory;
  throw new ReinsError(
    'invalid_input',
    `cannot ${verb} the ${resolved.purpose} key in the ${describeKeySource(resolved)}: Reins manages only key directories (change the key where it is kept; docs/identity.md)`,
  );
}

function run(command: string, io: CliIo, work: () => void): number {
  try {
    work();
    return EXIT_OK;
  } catch (error) {
    io.err(`reins keys ${command}: ${error instanceof ReinsError ? error.message : describeError(error)}`);
    return EXIT_ERROR;
  }
}

/** Creates the key directories (0700, key 0600); refuses one that already holds a key. */
export function generateKeys(options: KeyCommandOptions, io: CliIo): number {
  return run('generate', io, () => {
    for (const resolved of sourcesOf(options)) {
      const kid = createKeyDirectory(directoryOf(resolved, 'generate'));
      io.out(`${resolved.purpose}: created signing key ${kid} in ${describeKeySource(resolved)}`);
    }
  });
}

/** A new current key; the old one still verifies (credentials: until its tokens expire). */
export function rotateKeys(options: KeyCommandOptions, io: CliIo): number {
  return run('rotate', io, () => {
    if (options.purpose === undefined)
      throw new ReinsError('invalid_input', 'say which key: --purpose credentials or --purpose checkpoints');
    for (const resolved of sourcesOf(options)) {
      const now = new Date();
      const until =
        resolved.purpose === 'credentials' ? new Date(now.getTime() + MAX_TOKEN_LIFETIME_MS) : undefined;
      const { from, to } = rotateKeyDirectory(directoryOf(resolved, 'rotate'), now, until);
      io.out(
        `${resolved.purpose}: now signing with ${to}; ${from} verifies ${until ? `until ${until.toISOString()} (when every token it signed has expired)` : 'for good (its checkpoints stay verifiable)'}`,
      );
    }
  });
}

/** The key ids and public keys of each source (nothing secret). */
export function showKeys(options: KeyCommandOptions, io: CliIo): number {
  return run('show', io, () => {
    for (const resolved of sourcesOf(options)) {
      const keys = loadKeys(resolved);
      const publicKey = createPublicKey(keys.privateKey);
      io.out(`${resolved.purpose}: ${describeKeySource(resolved)}`);
      io.out(`  current ${keyIdOf(publicKey)}`);
      for (const retired of keys.retired)
        io.out(
          `  retired ${keyIdOf(retired.publicKey)} at ${retired.retiredAt.toISOString()}, verifies ${retired.verifyUntil ? `until ${retired.verifyUntil.toISOString()}` : 'for good'}`,
        );
      io.out(publicKey.export({ format: 'pem', type: 'spki' }).toString().trimEnd());
    }
  });
}
