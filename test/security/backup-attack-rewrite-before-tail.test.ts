/**
 * @module test/security/backup-attack-rewrite-before-tail.test
 * Fixed: the manifest (tail included) is signed with the checkpoint key when the backup is taken: the
 *   signed tail hash fixes records 9 and 10, and the rewritten backup (recomputed tail and sha256) is
 *   refused at the signature, nothing replaced. The test's ending changed with it: it expected the
 *   restore to succeed and verify to fail afterwards; now the restore is refused and the production
 *   store keeps its genuine record 10.
 * Attack (write access to the backup storage, no key): the records of a backup between the last
 * checkpoint at or before its tail and the tail itself (up to `every - 1` records: 999 by default) are
 * covered by no checkpoint *in the backup*. Before the restore they were fixed all the same: the
 * published checkpoints past the tail chain through them. A restore sets exactly those published
 * checkpoints aside (declared lost), so the intruder can rewrite those records in the backup (here:
 * record 10's arguments; the chain recomputed with the library, the manifest's tail and sha256 with it).
 * `reins restore` checks the backup only against the published checkpoints up to its tail (record 8),
 * accepts it, signs a restore record naming the forged tail, and `reins audit verify --checkpoints`
 * passes. Published history was rewritten through a restore.
 * Expected safe behaviour: a record that a published checkpoint covered stays covered: the backup
 * carries a signed checkpoint at its own tail (signed when it was taken) or the restore refuses a
 * tail it cannot tie to what was published; in any case verify fails after this restore.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { appendCheckpoints } from '../../src/export/checkpoint-file.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';
import {
  appendRecords,
  cli,
  EVERY,
  restore,
  type SmallDeployment,
  smallDeployment,
  verify,
} from './backup-attack-support.js';

let d: SmallDeployment | undefined;
afterAll(() => {
  if (d) rmSync(d.directory, { recursive: true, force: true });
});

it('records before a backup tail that published checkpoints covered cannot be rewritten through a restore', async () => {
  d = smallDeployment();
  await appendRecords(d, 8); // checkpoints at 4 and 8 published
  // the gateway is running: records 9 and 10 are written, no checkpoint yet, and the backup is taken
  const deployment = d;
  const file = join(deployment.published, 'checkpoints.jsonl');
  const live = new SqliteAuditLog({
    path: deployment.db,
    signer: new CheckpointSigner(deployment.privateKey),
    checkpointEvery: EVERY,
    onCheckpoint: (checkpoint) => appendCheckpoints(file, [checkpoint]),
  });
  const append = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const index = deployment.next++;
      await live.append({
        ...intentEvent(index),
        time: new Date().toISOString(),
        id: `r${index}`,
        decisionId: `r${index}`,
      });
    }
  };
  await append(2);
  const backup = join(d.directory, 'backup');
  const taken = cli(d, 'backup', '--db', d.db, '--out', backup);
  expect(taken.code, taken.stderr).toBe(0);
  expect(JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')).tail.seq).toBe(10);
  await append(9); // 11..19: the published checkpoints of 12, 16 (and 19) chain through 9 and 10
  await live.close();
  expect(verify(d).code).toBe(0);

  // the intruder rewrites records 9 and 10 of the backup, with the chain's own functions
  const data = join(backup, 'store.db');
  const copy = new Database(data);
  const original = (copy.prepare('select body from audit_events where seq = 10').get() as { body: string })
    .body;
  copy.exec('delete from audit_events where seq > 8; delete from audit_lookup where seq > 8');
  copy.close();
  const intruder = new CheckpointSigner(generateKeyPairSync('ed25519').privateKey);
  const forged = new SqliteAuditLog({ path: data, signer: intruder, checkpointEvery: 1_000 });
  for (const index of [9, 10])
    await forged.append({
      ...intentEvent(index),
      time: new Date().toISOString(),
      id: `r${index}`,
      decisionId: `r${index}`,
      args: { table: 'customers', row: index, note: 'rewritten by the intruder' },
    } as Parameters<SqliteAuditLog['append']>[0]);
  await forged.close();
  const rewritten = new Database(data);
  rewritten.pragma('journal_mode = DELETE');
  // the checkpoint the library signed at close is the intruder's key: gone, as in the genuine backup
  rewritten.exec('delete from audit_checkpoints where seq > 8');
  const tail = rewritten
    .prepare('select seq, hash, body from audit_events order by seq desc limit 1')
    .get() as {
    seq: number;
    hash: string;
    body: string;
  };
  rewritten.close();
  expect(tail.seq).toBe(10);
  expect(tail.body).not.toBe(original);
  const manifestPath = join(backup, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bytes = readFileSync(data);
  Object.assign(manifest, {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    tail: { seq: tail.seq, hash: tail.hash },
  });
  writeFileSync(manifestPath, JSON.stringify(manifest));

  const run = restore(d, backup, d.db, 'disk failure', '--no-publish');
  // before the fix: exit 0, and verify then passed over the rewritten records 9 and 10
  expect(run.code, run.stdout + run.stderr).toBe(2);
  expect(run.stderr).toContain('not signed by a trusted checkpoint key');
  // nothing was replaced: the store keeps the genuine record 10, and the chain still verifies
  const store = new Database(d.db, { readonly: true });
  const kept = (store.prepare('select body from audit_events where seq = 10').get() as { body: string }).body;
  store.close();
  expect(kept).toBe(original);
  await appendRecords(d, 6);
  const verified = verify(d);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
}, 60_000);
