/**
 * @module test/support/backup-scenario
 * The backup-and-restore story of issue 17, shared by the SQLite and the PostgreSQL test: a deployment
 * (test/support/stateful-deployment) that signs a checkpoint every few records and publishes each to a
 * directory, a real gateway process with real traffic, and the built CLI for everything an operator
 * runs (`reins backup`, `reins restore`, `reins audit verify|query|public-key`).
 */
import { execFile } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { okIn, REINS_BIN, reinsIn } from './deployment-fixture.js';
import { callTool, connectAgent, fateName } from './governed-calls.js';
import { type SpawnedGateway, spawnGateway } from './spawned-gateway.js';
import type { DeploymentIdentity, StatefulDeployment } from './stateful-deployment.js';

/** Checkpoints are signed this often, so that a few calls publish several. */
export const CHECKPOINT_EVERY = 4;

/** Adds the checkpoint cadence and the publication directory to the deployment's reins.yaml. */
export function publishCheckpoints(deployment: StatefulDeployment): string {
  const published = join(deployment.directory, 'published');
  appendFileSync(
    deployment.config,
    `audit: { checkpoints: { every: ${CHECKPOINT_EVERY}, publish: { directory: published } } }\n`,
  );
  return published;
}

/** Runs the built CLI on the deployment (its reins.yaml), from its directory. */
export function cli(deployment: StatefulDeployment, ...args: string[]) {
  return reinsIn(deployment.directory, {}, ...args, '--config', deployment.config);
}

export function ok(deployment: StatefulDeployment, ...args: string[]): string {
  return okIn(deployment.directory, {}, ...args, '--config', deployment.config);
}

/**
 * `reins backup --out <dir>` as a child process that does not block this one, so that the test's own
 * agent keeps calling through the gateway while the backup runs. Resolves with its standard output.
 */
export function backupInBackground(deployment: StatefulDeployment, out: string): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [REINS_BIN, 'backup', '--out', out, '--config', deployment.config],
      { cwd: deployment.directory, env: clean },
      (error, stdout, stderr) =>
        error ? reject(new Error(`reins backup failed: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** `reins audit public-key`, kept in a file away from the store, as an operator keeps it. */
export function savePublicKey(deployment: StatefulDeployment): string {
  const file = join(deployment.directory, 'checkpoints.pub.pem');
  writeFileSync(file, ok(deployment, 'audit', 'public-key'));
  return file;
}

/** `count` lookups by `agent` through a running gateway; every one must run. */
export async function traffic(
  gateway: SpawnedGateway,
  identity: DeploymentIdentity,
  agent: string,
  session: string,
  count: number,
): Promise<void> {
  const connection = await connectAgent(gateway.endpoint, await identity.credential(agent, session));
  try {
    for (let call = 0; call < count; call++)
      expect(fateName(await callTool(connection, 'crm', 'echo', { message: `INV-${session}-${call}` }))).toBe(
        'ran',
      );
  } finally {
    await connection.close();
  }
}

export async function startGateway(deployment: StatefulDeployment, mark: string): Promise<SpawnedGateway> {
  return spawnGateway(deployment.config, { mark });
}

/** The highest seq among the published checkpoints. */
export function lastPublishedSeq(published: string): number {
  const lines = readFileSync(join(published, 'checkpoints.jsonl'), 'utf8').trim().split('\n');
  return Math.max(...lines.map((line) => (JSON.parse(line) as { seq: number }).seq));
}
