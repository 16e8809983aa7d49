/**
 * @module test/security/backup-attack-restored-mode.test
 * Fixed: the backup's file is copied into a file created 0600 (stream copy, not copyFileSync, which gives
 *   the destination the source's mode); SQLite creates -wal and -shm with the mode of the store file.
 * Attack (another local user on the host): backups travel (object storage, `scp`, `tar`), and a copy
 * fetched back for a restore easily ends up 0644 (the umask of whoever downloaded it). `reins restore`
 * copies the backup's file into place with `copyFileSync`, which keeps the *source's* mode: the
 * restored production store (audit log, raw captured state with secrets, token hashes) and the -wal
 * and -shm files SQLite derives from it become world-readable. src/store/private-files promises that
 * every store Reins writes is 0600 whatever happens to be around it.
 * Expected safe behaviour: the restored store is 0600 (and its -wal/-shm after the gateway opens it),
 * whatever the mode of the backup file it came from.
 */
import { chmodSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
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

it('a restored store is private whatever the mode of the backup copy', async () => {
  d = smallDeployment();
  await appendRecords(d, 6);
  const backup = join(d.directory, 'backup');
  expect(cli(d, 'backup', '--db', d.db, '--out', backup).code).toBe(0);
  // the copy as it came back from the bucket
  chmodSync(backup, 0o755);
  chmodSync(join(backup, 'store.db'), 0o644);
  chmodSync(join(backup, 'manifest.json'), 0o644);
  const target = join(d.directory, 'state', 'restored.db');
  const run = restore(d, backup, target, 'new host', '--no-publish');
  expect(run.code, run.stderr).toBe(0);
  // today: 0644
  expect((statSync(target).mode & 0o777).toString(8)).toBe('600');
}, 60_000);
