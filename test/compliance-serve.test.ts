/**
 * @module test/compliance-serve.test
 * The scheduled compliance scan inside `reins serve` (issue 19): `compliance.every` in reins.yaml runs
 * the scan at start and on its timer on the process's own stores; the result is logged and served by
 * `GET /v1/compliance` (viewers). The deployment has exactly one problem: its checkpoints are published
 * nowhere (the seeded problems one by one are test/cli-compliance.test.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    // the serving process does not walk the chain, and says so
    expect((report as unknown as { checks: { name: string; status: string }[] }).checks).toContainEqual(
      expect.objectContaining({ name: 'audit chain', status: 'skipped' }),
    );
    expect((report as unknown as { stale: boolean }).stale).toBe(false);
    const anonymous = await fetch(`${serve.controlUrl}/v1/compliance`);
    expect(anonymous.status).toBe(401);
  });
});

/**
 * A scan that fails must not look clean: before any success the route answers 503 with the error; after
 * one, a failed scan leaves the last report served with `stale: true` and the error. The scan is made to
 * fail by an unreadable published checkpoint in the publication directory (the gateway only writes there).
 */
describe('a failed scheduled scan', () => {
  let failing: string;
  let running: RunningServe;
  let viewer: string;
  const lines: string[] = [];

  beforeAll(async () => {
    failing = mkdtempSync(join(tmpdir(), 'reins-compliance-failing-'));
    writeFileSync(
      join(failing, 'policy.yaml'),
      `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: serve }
rules: []
`,
    );
    mkdirSync(join(failing, 'published'));
    writeFileSync(join(failing, 'published/broken.jsonl'), 'not a checkpoint\n');
    writeFileSync(
      join(failing, 'reins.yaml'),
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
audit: { checkpoints: { publish: { directory: published } } }
compliance: { every: 1s }
`,
    );
    const users = new SqliteUserStore({ path: join(failing, 'reins.db') });
    viewer = (await createUser(users, { id: 'viv@example.com', roles: ['viewer'], by: 'test' })).token;
    await users.close();
    running = await startServe(join(failing, 'reins.yaml'), (line) => lines.push(line));
  }, 60_000);

  afterAll(async () => {
    await running?.close();
    rmSync(failing, { recursive: true, force: true });
  });

  const get = async () => {
    const response = await fetch(`${running.controlUrl}/v1/compliance`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers 503 with the error while no scan has succeeded, then stale with the error after one', async () => {
    await eventually(() => lines.some((line) => line.startsWith('compliance scan failed')), {
      timeoutMs: 20_000,
      what: 'a failed compliance scan',
    });
    const never = await get();
    expect(never.status).toBe(503);
    expect(JSON.stringify(never.body)).toContain('failed');

    rmSync(join(failing, 'published/broken.jsonl'));
    const fresh = await eventually(
      async () => {
        const answer = await get();
        return answer.status === 200 && answer.body.stale === false ? answer : false;
      },
      { timeoutMs: 20_000, what: 'a successful scan' },
    );
    expect(fresh.body.lastError).toBeUndefined();

    writeFileSync(join(failing, 'published/broken.jsonl'), 'not a checkpoint\n');
    const stale = await eventually(
      async () => {
        const answer = await get();
        return answer.body.stale === true ? answer : false;
      },
      { timeoutMs: 20_000, what: 'a stale report' },
    );
    expect(stale.status).toBe(200);
    expect(String(stale.body.lastError)).not.toBe('');
    expect(String(stale.body.staleReason)).toContain('failed');
    expect(stale.body.findings).toBeDefined();
  }, 60_000);
});
