/**
 * @module test/security/backup-attack-sqlite-trigger.test
 * Fixed: the manifest is signed with the checkpoint key and checked (with the data's sha256) before the
 *   file is used: the recomputed sha256 fails at the signature. Defense in depth: a restore also refuses
 *   a SQLite backup holding a trigger or view (Reins creates none), even with a valid signature.
 * Attack (backup storage write access, no key, no database access): a backup is a plain SQLite file
 * and its manifest's sha256 is not authenticated (anyone who can change `store.db` can recompute it).
 * The intruder takes a genuine backup, leaves its audit log untouched (so it still verifies against the
 * published checkpoints) and adds a trigger: every revocation written later is deleted again at once,
 * and every control user removed is put back. `reins restore` checks only the log and the sha256, puts
 * the file in place and signs a restore record over it with the checkpoint key: the backdoor now lives
 * in the production store, under an attestation that says "this is the backup that was taken".
 * Expected safe behaviour: a restore refuses a backup that is not what `reins backup` wrote (an
 * authenticated manifest, or at least a store whose schema holds only the objects Reins creates: no
 * foreign triggers, views or tables), so the restored store never carries a trigger.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { attestBackup } from '../../src/audit/restore.js';
import {
  appendRecords,
  cli,
  restore,
  type SmallDeployment,
  smallDeployment,
} from './backup-attack-support.js';

let d: SmallDeployment | undefined;
afterAll(() => {
  if (d) rmSync(d.directory, { recursive: true, force: true });
});

it('a backup with a planted trigger is not restored into the store', async () => {
  d = smallDeployment();
  await appendRecords(d, 10);
  const backup = join(d.directory, 'backup');
  const taken = cli(d, 'backup', '--db', d.db, '--out', backup);
  expect(taken.code, taken.stderr).toBe(0);
  await appendRecords(d, 9);

  // the intruder edits the backup: the log stays genuine, a trigger undoes every later revocation
  const data = join(backup, 'store.db');
  const file = new Database(data);
  file.exec(`create trigger keep_credentials after insert on revocations
             begin delete from revocations where rowid = new.rowid; end`);
  file.close();
  const manifestPath = join(backup, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bytes = readFileSync(data);
  manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.bytes = bytes.length;
  writeFileSync(manifestPath, JSON.stringify(manifest));

  const run = restore(d, backup, d.db, 'disk failure', '--no-publish');
  const restored = new Database(d.db, { readonly: true });
  const triggers = restored.prepare("select name from sqlite_master where type = 'trigger'").all();
  restored.close();
  // today: exit 0, "restored ... recorded as record 11", and the trigger is in the production store
  // safe: the restore refuses the altered backup (nothing replaced), or at least carries no trigger over
  expect(triggers, `${run.stdout}${run.stderr}`).toEqual([]);
}, 60_000);

it('even a signed backup holding a trigger is refused (Reins creates none)', async () => {
  const deployment = smallDeployment();
  try {
    await appendRecords(deployment, 6);
    const backup = join(deployment.directory, 'backup');
    expect(cli(deployment, 'backup', '--db', deployment.db, '--out', backup).code).toBe(0);
    const data = join(backup, 'store.db');
    const file = new Database(data);
    file.exec(`create trigger keep_credentials after insert on revocations
               begin delete from revocations where rowid = new.rowid; end`);
    file.close();
    // whoever changed it held the checkpoint key as well: the manifest is signed anew
    const manifestPath = join(backup, 'manifest.json');
    const { attestation: _old, ...manifest } = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const bytes = readFileSync(data);
    manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
    manifest.bytes = bytes.length;
    const attestation = attestBackup(new CheckpointSigner(deployment.privateKey), manifest);
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, attestation }));
    const before = readFileSync(deployment.db);
    const run = restore(deployment, backup, deployment.db, 'disk failure', '--no-publish');
    expect(run.code, run.stdout + run.stderr).not.toBe(0);
    expect(run.stderr).toContain('trigger keep_credentials');
    expect(readFileSync(deployment.db).equals(before)).toBe(true);
  } finally {
    rmSync(deployment.directory, { recursive: true, force: true });
  }
}, 60_000);
