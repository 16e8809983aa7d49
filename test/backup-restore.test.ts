/**
 * @module test/backup-restore.test
 * Issue 17, backup and restore on the embedded store, end to end with the built CLI and a real gateway
 * process: `reins backup` while the gateway serves (SQLite's online backup), more traffic (so that
 * checkpoints beyond the backup are published), stop, wipe the store, `reins restore`; then
 * `reins audit verify --checkpoints --public-key` passes and names the restore and what it lost, the
 * restore record is in the log, and the gateway continues the chain on the restored store. The
 * adversaries: a cut tail with no restore record, a restore record forged without the key, and a
 * restore that declares less than it lost all still fail.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import {
  backupInBackground,
  cli,
  lastPublishedSeq,
  ok,
  publishCheckpoints,
  savePublicKey,
  startGateway,
  traffic,
} from './support/backup-scenario.js';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import { killMarked } from './support/marked-processes.js';
import {
  createStatefulDeployment,
  type DeploymentIdentity,
  openDeploymentIdentity,
  type StatefulDeployment,
} from './support/stateful-deployment.js';

const mark = `backup-${randomUUID()}`;
const LIMITS = { lookupsPerAgent: 1_000, paymentsPerAgent: 1_000, spendPerSession: 1_000 } as const;

let upstream: EverythingServer;
let deployment: StatefulDeployment;
let identity: DeploymentIdentity;
let published: string;
let publicKey: string;
let db: string;
let backup: string;
/** The store as it was before the wipe (for the adversaries). */
let beforeWipe: string;
let backupTail: number;
let lastBeforeRestore: number;

beforeAll(async () => {
  upstream = await startEverythingServer(mark);
  deployment = createStatefulDeployment({ store: 'sqlite', limits: LIMITS, upstream: upstream.url });
  published = publishCheckpoints(deployment);
  db = join(deployment.directory, 'state', 'reins.db');
  backup = join(deployment.directory, 'backups', 'first');
  beforeWipe = join(deployment.directory, 'before-wipe.db');
  identity = await openDeploymentIdentity(deployment);
  await identity.createAgent('clerk');
}, 60_000);

afterAll(async () => {
  await identity?.close();
  await upstream?.close();
  killMarked(mark);
  if (deployment) rmSync(deployment.directory, { recursive: true, force: true });
});

/** `reins audit verify` of the deployment against the published checkpoints and the trusted key. */
const verify = (...extra: string[]) =>
  cli(deployment, 'audit', 'verify', '--checkpoints', published, '--public-key', publicKey, ...extra);

describe('backup, wipe, restore on SQLite', () => {
  it('backs up while the gateway serves, and the published checkpoints run past the backup', async () => {
    const gateway = await startGateway(deployment, mark);
    try {
      publicKey = savePublicKey(deployment);
      await traffic(gateway, identity, 'clerk', 'before-backup', 5);
      // online: the agent keeps calling while the backup is taken
      const [out] = await Promise.all([
        backupInBackground(deployment, backup),
        traffic(gateway, identity, 'clerk', 'during-backup', 4),
      ]);
      expect(out).toMatch(/backup: .*sqlite.*records up to \d+/);
      const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ v: 1, store: 'sqlite', tail: { seq: expect.any(Number) } });
      backupTail = manifest.tail.seq;
      expect(backupTail).toBeGreaterThanOrEqual(10);
      // the backup holds captured state and credentials' records: only its owner may read it
      for (const file of ['manifest.json', manifest.file])
        expect(statSync(join(backup, file)).mode & 0o777, file).toBe(0o600);
      expect(statSync(backup).mode & 0o777).toBe(0o700);
      await traffic(gateway, identity, 'clerk', 'after-backup', 6);
      // a restore under a running gateway would be written past by it
      const refused = cli(deployment, 'restore', backup, '--reason', 'too early', '--checkpoints', published);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('stop the gateway first');
    } finally {
      await gateway.stop();
    }
    lastBeforeRestore = lastPublishedSeq(published);
    expect(lastBeforeRestore).toBeGreaterThan(backupTail + CHECKPOINTS_PAST_BACKUP);
    expect(verify().code).toBe(0);
    copyFileSync(db, beforeWipe);
  }, 120_000);

  it('refuses to back up over an existing backup', () => {
    const run = cli(deployment, 'backup', '--out', backup);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('exists');
  });

  it('restores after the store was wiped; the restore is recorded, signed and published', () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
    // a restore must say why
    expect(cli(deployment, 'restore', backup, '--checkpoints', published).code).not.toBe(0);
    const out = ok(deployment, 'restore', backup, '--reason', 'disk failure', '--checkpoints', published);
    expect(out).toContain(`records ${backupTail + 1}..${lastBeforeRestore} lost`);
    expect(existsSync(db)).toBe(true);
    expect(statSync(db).mode & 0o777).toBe(0o600);
    // the checkpoint over the restore record is published at once: the last line of the copy
    const lines = readFileSync(join(published, 'checkpoints.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({ seq: backupTail + 1 });
    const restores = ok(deployment, 'audit', 'query', '--kind', 'restore', '--format', 'json')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { seq: number; event: Extract<AuditEventV1, { kind: 'restore' }> });
    expect(restores).toHaveLength(1);
    const [restore] = restores;
    expect(restore?.seq).toBe(backupTail + 1);
    expect(restore?.event).toMatchObject({
      reason: 'disk failure',
      backup: { tail: { seq: backupTail } },
      lost: { from: backupTail + 1, to: lastBeforeRestore },
    });
    expect(restore?.event.actor.id).toMatch(/^cli:/);
  });

  it('verifies against the published checkpoints and names the restore and what it lost', () => {
    const run = verify();
    expect(run.stderr).not.toMatch(/TAMPERED|NOT VERIFIED/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`restored at .* by cli:.*: records ${backupTail + 1}\\.\\.${lastBeforeRestore} lost`),
    );
  });

  it('a tail cut off with no restore record still fails (truncated)', () => {
    const cut = join(deployment.directory, 'cut.db');
    copyFileSync(join(backup, 'store.db'), cut);
    const run = cli(
      deployment,
      'audit',
      'verify',
      '--db',
      cut,
      '--checkpoints',
      published,
      '--public-key',
      publicKey,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/TAMPERED.*\((truncated|checkpoint_mismatch)\)/);
  });

  it('a restore record written into the database without the key fails', async () => {
    const forged = join(deployment.directory, 'forged.db');
    copyFileSync(join(backup, 'store.db'), forged);
    const genuine = JSON.parse(
      ok(deployment, 'audit', 'query', '--kind', 'restore', '--format', 'json').trim(),
    ) as { event: Extract<AuditEventV1, { kind: 'restore' }> };
    // the intruder writes the record with the chain's own functions and signs it with a key of his own
    const intruderKey = new CheckpointSigner(
      (await import('node:crypto')).generateKeyPairSync('ed25519').privateKey,
    );
    const log = new SqliteAuditLog({ path: forged, signer: intruderKey, checkpointEvery: 1_000 });
    const event = { ...genuine.event, id: 'forged', decisionId: 'forged' };
    await log.append({
      ...event,
      attestation: { keyId: intruderKey.keyId, signature: genuine.event.attestation.signature },
    });
    await log.close();
    const run = cli(
      deployment,
      'audit',
      'verify',
      '--db',
      forged,
      '--checkpoints',
      published,
      '--public-key',
      publicKey,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/restore record at record \d+ .*not signed by a trusted key/);
  });

  it('a restore that declares less than it lost fails', () => {
    // the operator (or someone with the key) shows the restore only part of what was published
    const partial = join(deployment.directory, 'partial-checkpoints.jsonl');
    const lines = readFileSync(join(published, 'checkpoints.jsonl'), 'utf8').trim().split('\n');
    const firstPast = lines.findIndex((line) => (JSON.parse(line) as { seq: number }).seq > backupTail);
    writeFileSync(partial, `${lines.slice(0, firstPast + 1).join('\n')}\n`);
    const hidden = join(deployment.directory, 'hidden.db');
    const run = reinsRestoreOnCopy(hidden, partial);
    expect(run.code, run.stderr).toBe(0);
    const verified = cli(
      deployment,
      'audit',
      'verify',
      '--db',
      hidden,
      '--checkpoints',
      published,
      '--public-key',
      publicKey,
    );
    expect(verified.code).toBe(1);
    expect(verified.stderr).toMatch(/outside the range .* declares lost/);
  });

  it('the gateway continues the chain on the restored store, and verify still passes', async () => {
    const gateway = await startGateway(deployment, mark);
    try {
      await traffic(gateway, identity, 'clerk', 'after-restore', 4);
    } finally {
      await gateway.stop();
    }
    const run = verify();
    expect(run.stderr).not.toMatch(/TAMPERED|NOT VERIFIED/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/restored at .*lost/);
    expect(lastPublishedSeq(published)).toBeGreaterThan(backupTail + 8);
  }, 120_000);
});

/** Checkpoints every 4 records, 6 more calls (12 records): at least two published past the backup. */
const CHECKPOINTS_PAST_BACKUP = 4;

/**
 * `reins restore` of the backup into another file, with the checkpoint key but not the deployment's
 * reins.yaml (so nothing is published to its directory), reading only `checkpoints`.
 */
function reinsRestoreOnCopy(target: string, checkpoints: string) {
  return cli(
    deployment,
    'restore',
    backup,
    '--db',
    target,
    '--reason',
    'partial',
    '--checkpoints',
    checkpoints,
    '--no-publish',
  );
}
