/**
 * @module test/compliance-serve.test
 * The scheduled compliance scan inside `reins serve` (issue 19): `compliance.every` in reins.yaml runs
 * the scan at start and on its timer on the process's own stores; the result is logged and served by
 * `GET /v1/compliance` (viewers). The deployment has exactly one problem: its checkpoints are published
 * nowhere (the seeded problems one by one are test/cli-compliance.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/api/users.js';
import { type RunningServe, startServe } from '../src/cli/serve-command.js';
import { SqliteUserStore } from '../src/store/sqlite/sqlite-user-store.js';
import { eventually } from './support/eventually.js';

let directory: string;
let serve: RunningServe;
let token: string;
const log: string[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-compliance-serve-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: serve }
tools:
  - { server: crm, name: db.select, risk: low, effects: [read] }
rules:
  - { id: reads, effect: allow, tool: { server: crm }, reason: reads }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
compliance: { every: 1h, unusedAfter: 14d }
`,
  );
  const users = new SqliteUserStore({ path: join(directory, 'reins.db') });
  token = (await createUser(users, { id: 'viv@example.com', roles: ['viewer'], by: 'test' })).token;
  await users.close();
  serve = await startServe(join(directory, 'reins.yaml'), (line) => log.push(line));
}, 60_000);

afterAll(async () => {
  await serve?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('the scheduled compliance scan of reins serve', () => {
  it('runs at start, logs its findings and serves the last report on GET /v1/compliance', async () => {
    const line = await eventually(() => log.find((entry) => entry.startsWith('compliance scan')), {
      timeoutMs: 20_000,
      intervalMs: 50,
      what: 'a compliance scan',
    });
    expect(line).toBe(
      'compliance scan: 1 finding(s): audit.checkpoints-unpublished audit (GET /v1/compliance)',
    );
    const response = await fetch(`${serve.controlUrl}/v1/compliance`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      findings: { code: string }[];
      thresholds: { unusedAfterMs: number };
    };
    expect(report.findings.map((finding) => finding.code)).toEqual(['audit.checkpoints-unpublished']);
    // the configuration's threshold is the one applied
    expect(report.thresholds.unusedAfterMs).toBe(14 * 86_400_000);
    const anonymous = await fetch(`${serve.controlUrl}/v1/compliance`);
    expect(anonymous.status).toBe(401);
  });
});
