/**
 * @module test/security/backup-attack-trial-restore-replay.test
 * Fixed: verify accepts a restore record only when the checkpoint `reins restore` signed over that very
 *   record (same seq and hash, signed after it) is among the published checkpoints; a --no-publish
 *   restore publishes none, so its record excuses no cut (src/audit/restore uncoveredRestores).
 * Attack (database write access, no key): the operator does what the docs suggest, a trial restore of
 * a backup into another file (`reins restore <backup> --db trial.db --no-publish`), which signs a
 * genuine restore record with the checkpoint key but publishes nothing and never touches production.
 * The intruder then puts that restore (the trial store, or just its restore record: same seq, same
 * previous hash, same bytes) into the production store, cutting every record after the backup's tail,
 * records that were already published. The gateway continues on the forged store and its next
 * published checkpoints cover the forged restore record. `reins audit verify --checkpoints` accepts it:
 * exit 0, "restored ... records 11..19 lost". Production was never restored; published records are
 * gone and verify vouches for it.
 * Expected safe behaviour: a restore record accounts for a cut only when the restore itself was
 * published (its own checkpoint, signed by `reins restore` over the restore record, is among the
 * published checkpoints), or the record is otherwise bound to the store it was made for; a trial
 * restore's record moved into production fails verification.
 */
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import {
  appendRecords,
  cli,
  restore,
  type SmallDeployment,
  smallDeployment,
  verify,
} from './backup-attack-support.js';

let d: SmallDeployment | undefined;
afterAll(() => {
  if (d) rmSync(d.directory, { recursive: true, force: true });
});

it('a trial restore record moved into production does not excuse the cut', async () => {
  d = smallDeployment();
  await appendRecords(d, 10);
  const backup = join(d.directory, 'backup');
  expect(cli(d, 'backup', '--db', d.db, '--out', backup).code).toBe(0);
  await appendRecords(d, 9); // records 11..19, checkpoints of 12 and 16 published
  expect(verify(d).code).toBe(0);

  // the operator tests the backup: a trial restore into another file, nothing published
  const trial = join(d.directory, 'trial.db');
  const run = restore(d, backup, trial, 'trial: does the backup restore?', '--no-publish');
  expect(run.code, run.stderr).toBe(0);

  // the intruder puts the trial restore in place of production (records 11..19 cut) ...
  for (const suffix of ['-wal', '-shm']) rmSync(`${d.db}${suffix}`, { force: true });
  copyFileSync(trial, d.db);
  // ... and the gateway carries on, publishing checkpoints over the forged history
  await appendRecords(d, 8);

  const verified = verify(d);
  // today: exit 0, "restored at ... reason: trial ...: records 11..19 lost"
  expect(verified.code, verified.stdout + verified.stderr).toBe(1);
}, 60_000);
