/**
 * @module test/backup-restore-postgres.test
 * Issue 17, backup and restore on PostgreSQL, end to end with the built CLI and a real gateway process:
 * `reins backup` (pg_dump on a snapshot whose log tail the manifest names) while the gateway serves,
 * more traffic, stop, wipe the database (every table dropped), `reins restore` (pg_restore), then
 * `reins audit verify --checkpoints --public-key` passes and names the restore, and the gateway
 * continues the chain on the restored database. A database of its own (test/support/postgres-database).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import {
  createStatefulDeployment,
  type DeploymentIdentity,
  openDeploymentIdentity,
  type StatefulDeployment,
} from './support/stateful-deployment.js';

const mark = `backup-pg-${randomUUID()}`;
const LIMITS = { lookupsPerAgent: 1_000, paymentsPerAgent: 1_000, spendPerSession: 1_000 } as const;

let upstream: EverythingServer;
let database: TestDatabase;
let deployment: StatefulDeployment;
let identity: DeploymentIdentity;
let published: string;
let publicKey: string;
let backup: string;
let backupTail: number;
let lastBeforeRestore: number;

beforeAll(async () => {
  upstream = await startEverythingServer(mark);
  database = await createTestDatabase('reins_backup');
  deployment = createStatefulDeployment({
    store: { databaseUrl: database.url },
    limits: LIMITS,
    upstream: upstream.url,
  });
  published = publishCheckpoints(deployment);
  backup = join(deployment.directory, 'backups', 'first');
  identity = await openDeploymentIdentity(deployment);
  await identity.createAgent('clerk');
}, 60_000);

afterAll(async () => {
  await identity?.close();
  await upstream?.close();
  killMarked(mark);
  await database?.drop();
  if (deployment) rmSync(deployment.directory, { recursive: true, force: true });
});

const verify = () =>
  cli(deployment, 'audit', 'verify', '--checkpoints', published, '--public-key', publicKey);

/** Every table of the deployment dropped: the database as a failed disk or a wrong command leaves it. */
async function wipe(): Promise<void> {
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('drop schema public cascade; create schema public');
  } finally {
    await client.end();
  }
}

describe('backup, wipe, restore on PostgreSQL', () => {
  it('backs up with pg_dump while the gateway serves', async () => {
    const gateway = await startGateway(deployment, mark);
    try {
      publicKey = savePublicKey(deployment);
      await traffic(gateway, identity, 'clerk', 'before-backup', 5);
      // online: the agent keeps calling while pg_dump runs
      const [out] = await Promise.all([
        backupInBackground(deployment, backup),
        traffic(gateway, identity, 'clerk', 'during-backup', 4),
      ]);
      expect(out).toMatch(/backup: .*postgres store.*records up to \d+/);
      const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ v: 1, store: 'postgres', file: 'store.dump' });
      expect(statSync(join(backup, 'store.dump')).mode & 0o777).toBe(0o600);
      backupTail = manifest.tail.seq;
      expect(backupTail).toBeGreaterThanOrEqual(10);
      await traffic(gateway, identity, 'clerk', 'after-backup', 6);
      const refused = cli(deployment, 'restore', backup, '--reason', 'too early', '--checkpoints', published);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('stop every gateway of the deployment first');
    } finally {
      await gateway.stop();
    }
    lastBeforeRestore = lastPublishedSeq(published);
    expect(lastBeforeRestore).toBeGreaterThan(backupTail + 4);
  }, 120_000);

  it('after a wipe, verify fails; after the restore it passes and names what was lost', async () => {
    // the test's own connection to the identity tables counts as a Reins process on the database
    await identity.close();
    await wipe();
    const wiped = verify();
    expect(wiped.code).toBe(1);
    expect(wiped.stderr).toContain('(truncated)');
    const out = ok(
      deployment,
      'restore',
      backup,
      '--reason',
      'dropped by mistake',
      '--checkpoints',
      published,
    );
    expect(out).toContain(`records ${backupTail + 1}..${lastBeforeRestore} lost`);
    const run = verify();
    expect(run.stderr).not.toMatch(/TAMPERED|NOT VERIFIED/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`restored at .* by cli:.*: records ${backupTail + 1}\\.\\.${lastBeforeRestore} lost`),
    );
    const restores = ok(deployment, 'audit', 'query', '--kind', 'restore', '--format', 'json')
      .trim()
      .split('\n');
    expect(restores).toHaveLength(1);
    expect(JSON.parse(restores[0] as string)).toMatchObject({
      seq: backupTail + 1,
      event: { kind: 'restore', reason: 'dropped by mistake', backup: { store: 'postgres' } },
    });
  }, 120_000);

  it('the gateway continues the chain on the restored database, and verify still passes', async () => {
    identity = await openDeploymentIdentity(deployment);
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
  }, 120_000);
});
