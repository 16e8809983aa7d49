/**
 * @module test/security/backup-attack-support
 * A small SQLite deployment for the backup attack tests: a checkpoint key (file, 0600) and its public
 * key, a store written with the library (checkpoint every 4 records, each published to a directory as
 * the gateway's directory publisher does), and the built CLI for `reins backup|restore|audit verify`,
 * run with the checkpoint key in REINS_SIGNING_KEY (`reins backup` signs its manifest with it).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { appendCheckpoints } from '../../src/export/checkpoint-file.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { reinsIn } from '../support/deployment-fixture.js';

export interface SmallDeployment {
  readonly directory: string;
  readonly db: string;
  readonly published: string;
  readonly keyFile: string;
  readonly publicKeyFile: string;
  readonly privateKey: KeyObject;
  next: number;
}

export const EVERY = 4;

export function smallDeployment(): SmallDeployment {
  const directory = mkdtempSync(join(tmpdir(), 'reins-backup-attack-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = join(directory, 'checkpoint.key.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const publicKeyFile = join(directory, 'checkpoint.pub.pem');
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const published = join(directory, 'published');
  mkdirSync(published, { mode: 0o700 });
  return {
    directory,
    db: join(directory, 'state', 'reins.db'),
    published,
    keyFile,
    publicKeyFile,
    privateKey,
    next: 1,
  };
}

/** Appends `count` records to the store at `db` (default: the deployment's), publishing checkpoints. */
export async function appendRecords(d: SmallDeployment, count: number, db = d.db): Promise<void> {
  mkdirSync(join(d.directory, 'state'), { recursive: true, mode: 0o700 });
  const file = join(d.published, 'checkpoints.jsonl');
  const log = new SqliteAuditLog({
    path: db,
    signer: new CheckpointSigner(d.privateKey),
    checkpointEvery: EVERY,
    onCheckpoint: (checkpoint) => appendCheckpoints(file, [checkpoint]),
  });
  for (let i = 0; i < count; i++) {
    const index = d.next++;
    await log.append({
      ...intentEvent(index),
      time: new Date().toISOString(),
      id: `r${index}`,
      decisionId: `r${index}`,
    });
  }
  await log.close();
}

/** The deployment's checkpoint key is configured in the environment, as a gateway's would be (backups are signed with it). */
export function cli(d: SmallDeployment, ...args: string[]) {
  return reinsIn(d.directory, { REINS_SIGNING_KEY: d.keyFile }, ...args);
}

export function verify(d: SmallDeployment, db = d.db) {
  return cli(
    d,
    'audit',
    'verify',
    '--db',
    db,
    '--checkpoints',
    d.published,
    '--public-key',
    d.publicKeyFile,
    '--checkpoint-every',
    String(EVERY),
  );
}

export function restore(d: SmallDeployment, backup: string, db: string, reason: string, ...extra: string[]) {
  return cli(
    d,
    'restore',
    backup,
    '--db',
    db,
    '--reason',
    reason,
    '--checkpoints',
    d.published,
    '--public-key',
    d.publicKeyFile,
    '--signing-key',
    d.keyFile,
    ...extra,
  );
}
