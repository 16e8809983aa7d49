/**
 * Credential keys for tests (decision 0011: keys come from a key source, never the store).
 * `credentialKeysBeside` is the gateway's default key directory (`.reins-keys/credentials` beside its
 * `reins.yaml`), created here first if it is missing, so a token issued in the test process is accepted
 * by a gateway started from that file. `signingKeyOf` gives tests that forge tokens the private key and
 * its kid, as someone holding the key would have them. `issueCredential` issues an agent's credential
 * as an operator does, from the store and the keys beside `reins.yaml`.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Authenticator, type IssueOptions } from '../../src/auth/authenticator.js';
import type { CredentialKeySource } from '../../src/identity/key-ring.js';
import { CURRENT_KEY_FILE, createKeyDirectory } from '../../src/keys/key-directory.js';
import { directoryKeySource } from '../../src/keys/key-source.js';
import { keyIdOf } from '../../src/spec/key-id.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';

export function credentialKeysBeside(configDirectory: string): CredentialKeySource {
  return directoryKeySource(credentialKeyDirectory(configDirectory));
}

/** The current private key of the key directory beside `configDirectory`, and its kid. */
export function signingKeyOf(configDirectory: string): {
  kid: string;
  privateKey: KeyObject;
  publicPem: string;
} {
  const privateKey = createPrivateKey(
    readFileSync(join(credentialKeyDirectory(configDirectory), CURRENT_KEY_FILE)),
  );
  const publicKey = createPublicKey(privateKey);
  return {
    kid: keyIdOf(publicKey),
    privateKey,
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

function credentialKeyDirectory(configDirectory: string): string {
  const keyDirectory = join(configDirectory, '.reins-keys', 'credentials');
  if (!existsSync(join(keyDirectory, CURRENT_KEY_FILE))) createKeyDirectory(keyDirectory);
  return keyDirectory;
}

/** A credential of `agent`, issued as an operator does: the store `db`, the keys beside `configDirectory`. */
export async function issueCredential(
  configDirectory: string,
  db: string,
  agent: string,
  options: IssueOptions = {},
): Promise<string> {
  const store = new SqliteIdentityStore({ path: db });
  const auth = await Authenticator.open({ store, keys: credentialKeysBeside(configDirectory) });
  try {
    return (await auth.issue(agent, options)).token;
  } finally {
    auth.close();
    await store.close();
  }
}
