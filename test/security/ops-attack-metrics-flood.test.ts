/**
 * ATTACK: an unauthenticated flood of `GET /metrics` turns into a flood of audit-store reads.
 *
 * `/metrics` is public on both listeners. Every scrape runs the `reins_approvals_pending` gauge's
 * collector, which calls `approvals.list({ status: 'pending', limit: 1000 })` on the store — a query
 * plus a JSON/zod parse of up to 1,000 approval records, synchronously on the event loop for SQLite
 * (better-sqlite3), and a pooled connection each on PostgreSQL (the pool the harness decides with).
 * Unlike `/readyz` (commit 6813ff6: "one store probe per second however many ask"), nothing coalesces
 * or caches it: N concurrent scrapes = N store reads. Anyone who can reach the gateway's listener (the
 * agents' endpoint, often internet-facing) can stall the event loop / drain the store pool.
 *
 * EXPECTED SAFE BEHAVIOUR: like readiness, the store-backed gauge is read at most once per short
 * interval (or concurrent scrapes share one read), so 100 concurrent scrapes cost a bounded number
 * (here: at most 3) of approval-list queries.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';

let directory: string;
let serve: RunningServe;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-ops-flood-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    'apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: flood }\nrules: []\n',
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
`,
  );
  serve = await startServe(join(directory, 'reins.yaml'), () => {});
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await serve?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('/metrics flood', () => {
  it('does not run one approval-store query per unauthenticated scrape', async () => {
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    const pendingListQueries = () =>
      prepare.mock.calls.filter(
        ([sql]) => /from\s+approvals/i.test(String(sql)) && /status/i.test(String(sql)),
      ).length;
    const before = pendingListQueries();
    const origin = new URL(serve.gatewayUrl).origin;
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => fetch(`${origin}/metrics`).then((response) => response.status)),
    );
    expect(answers.every((status) => status === 200)).toBe(true);
    const queries = pendingListQueries() - before;
    // today: 100 (one per scrape); safe: coalesced like /readyz's store probe
    expect(queries).toBeLessThanOrEqual(3);
  }, 60_000);
});
