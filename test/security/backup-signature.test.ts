/**
 * @module test/security/backup-signature.test
 * The signed backup manifest (decision 0024) from the other side of the attack tests: a backup without
 * a signature (as taken before manifests were signed), or signed by another deployment's key, is
 * refused before the store is touched; `reins backup` without a checkpoint key writes nothing; a
 * restored store and the -wal file SQLite derives from it stay 0600 once the gateway writes to it.
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CheckpointSigner } from '../../src/audit/checkpoint.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent } from '../support/audit-fixtures.js';
import { reinsIn } from '../support/deployment-fixture.js';
import {
  appendRecords,
  cli,
  restore,
  type SmallDeployment,
  smallDeployment,
} from './backup-attack-support.js';

const deployments: SmallDeployment[] = [];
afterAll(() => {
  for (const d of deployments) rmSync(d.directory, { recursive: true, force: true });
});

function deploymentWithBackup(): Promise<{ d: SmallDeployment; backup: string }> {
  const d = smallDeployment();
  deployments.push(d);
  return appendRecords(d, 6).then(() => {
    const backup = join(d.directory, 'backup');
    const taken = cli(d, 'backup', '--db', d.db, '--out', backup);
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain('signed with checkpoint key');
    return { d, backup };
  });
}

it('refuses a backup whose manifest carries no signature, and changes nothing', async () => {
  const { d, backup } = await deploymentWithBackup();
  const manifestPath = join(backup, 'manifest.json');
  const { attestation: _dropped, ...unsigned } = JSON.parse(readFileSync(manifestPath, 'utf8'));
  writeFileSync(manifestPath, JSON.stringify(unsigned));
  const before = readFileSync(d.db);
  const run = restore(d, backup, d.db, 'disk failure', '--no-publish');
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('is not signed');
  expect(readFileSync(d.db).equals(before)).toBe(true);
}, 60_000);

it("refuses another deployment's genuine backup", async () => {
  const { backup } = await deploymentWithBackup();
  const { d } = await deploymentWithBackup();
  const run = restore(d, backup, join(d.directory, 'state', 'other.db'), 'wrong bucket', '--no-publish');
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('not signed by a trusted checkpoint key');
  expect(existsSync(join(d.directory, 'state', 'other.db'))).toBe(false);
}, 60_000);

it('takes no backup without a checkpoint key to sign it with', async () => {
  const d = smallDeployment();
  deployments.push(d);
  await appendRecords(d, 2);
  const out = join(d.directory, 'unsigned');
  const run = reinsIn(d.directory, {}, 'backup', '--db', d.db, '--out', out);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('cannot sign the backup');
  expect(existsSync(out)).toBe(false);
}, 60_000);

it('a restored store and its -wal stay 0600 once written to', async () => {
  const { d, backup } = await deploymentWithBackup();
  const target = join(d.directory, 'state', 'restored.db');
  const run = restore(d, backup, target, 'new host', '--no-publish');
  expect(run.code, run.stderr).toBe(0);
  // the gateway's log, open and written to: SQLite's -wal exists while it is open
  const log = new SqliteAuditLog({ path: target, signer: new CheckpointSigner(d.privateKey) });
  try {
    await log.append({ ...intentEvent(99), time: new Date().toISOString(), id: 'r99', decisionId: 'r99' });
    for (const file of [target, `${target}-wal`])
      expect((statSync(file).mode & 0o777).toString(8), file).toBe('600');
  } finally {
    await log.close();
  }
}, 60_000);
