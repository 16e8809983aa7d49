/**
 * @module test/ops-endpoints-postgres.test
 * Readiness and metrics of `reins serve` (in this process) on a PostgreSQL store: ready on both
 * listeners; while another session holds the audit log's append lock (as a writer stuck in its
 * transaction would), `/readyz` answers 503 naming `store`, and 200 again once it lets go; the
 * pending approvals gauge is read from the shared store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServe, startServe } from '../src/cli/serve-command.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import type { Readiness } from '../src/spec/ops.js';
import { advisoryLockKey } from '../src/store/postgres/postgres-migrations.js';
import { eventually } from './support/eventually.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import { metricValue, parseMetrics } from './support/prometheus-text.js';

let directory: string;
let database: TestDatabase;
let serve: RunningServe;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-ops-pg-'));
  database = await createTestDatabase('reins_ops');
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ops-pg }
rules:
  - { id: nothing, effect: deny, reason: nothing runs here }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { databaseUrl: ${JSON.stringify(database.url)} }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
`,
  );
  // a shared store: every process signs with keys it is given, none is made up where it runs
  createKeyDirectory(join(directory, 'secrets/credentials'));
  createKeyDirectory(join(directory, 'secrets/checkpoints'));
  serve = await startServe(join(directory, 'reins.yaml'), () => {});
}, 60_000);

afterAll(async () => {
  await serve?.close();
  await database?.drop();
  rmSync(directory, { recursive: true, force: true });
});

const origins = () => [new URL(serve.gatewayUrl).origin, serve.controlUrl];

async function readiness(origin: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${origin}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

describe('readiness on PostgreSQL', () => {
  it('is ready, and reads pending approvals from the store', async () => {
    for (const origin of origins()) {
      const ready = await readiness(origin);
      expect(ready.status).toBe(200);
      expect(ready.body.checks.map((check) => check.name)).toEqual(['policy', 'store']);
      const metrics = parseMetrics(await (await fetch(`${origin}/metrics`)).text());
      expect(metricValue(metrics, 'reins_approvals_pending')).toBe(0);
    }
  });

  it('is not ready while another session holds the append lock, and ready once it lets go', async () => {
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${advisoryLockKey('append', 'public')})`);
      // readiness reuses a store probe's answer for a second (both listeners share it): it turns within that
      for (const origin of origins()) {
        const locked = await eventually(async () => {
          const answer = await readiness(origin);
          expect(answer.status).toBe(503);
          return answer;
        });
        expect(locked.body.checks.filter((check) => !check.ok).map((check) => check.name)).toEqual(['store']);
      }
      await holder.query('rollback');
      for (const origin of origins())
        await eventually(async () => expect((await readiness(origin)).status).toBe(200));
    } finally {
      await holder.end();
    }
  });
});
