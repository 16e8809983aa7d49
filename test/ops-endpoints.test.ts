/**
 * @module test/ops-endpoints.test
 * `/healthz`, `/readyz` and `/metrics` on both listeners of `reins serve` (in this process), fronting a
 * real MCP server (server-memory over stdio) for clients using the official SDK with Reins
 * credentials. The metrics move by exactly the traffic sent (allowed and denied calls over MCP and over
 * the remote protocol, a refused credential), parsed as a scraper parses them; readiness turns 503 naming `upstream:memory` while
 * the upstream's process is dead and cannot restart, and `store` while another connection holds the
 * audit store's write lock, and 200 again once each is back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { type RunningServe, startServe } from '../src/cli/serve-command.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import type { Readiness } from '../src/spec/ops.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { connectHttp } from './support/http-gateway.js';
import { killMarked, MARK_VARIABLE, markedProcesses } from './support/marked-processes.js';
import { type MetricFamilies, metricValue, parseMetrics } from './support/prometheus-text.js';

const require = createRequire(import.meta.url);
const memoryServer = require.resolve('@modelcontextprotocol/server-memory/dist/index.js');

let directory: string;
let serve: RunningServe;
let token: string;
let client: Client;
/** Present while the upstream must not start: its process exits at once. */
let gate: string;
const mark = `ops-endpoints-${process.pid}-${Date.now()}`;
const log: string[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-ops-'));
  gate = join(directory, 'upstream-down');
  // the upstream: server-memory, unless the gate file says it is down (a restart then fails)
  writeFileSync(
    join(directory, 'gated-memory.mjs'),
    `import { existsSync } from 'node:fs';
if (existsSync(${JSON.stringify(gate)})) process.exit(1);
await import(${JSON.stringify(memoryServer)});
`,
  );
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ops }
tools:
  - { server: memory, name: search_nodes, risk: low, effects: [read] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - { id: searches, effect: allow, tool: { server: memory, name: search_nodes }, reason: searching is fine }
  - { id: no-secrets, effect: deny, tool: { server: memory, name: search_nodes }, when: 'args.query.startsWith("secret")', reason: no secrets }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [gated-memory.mjs], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))}, ${MARK_VARIABLE}: ${mark} } }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
limits: { callTimeout: 20s }
`,
  );
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({
    id: 'reader',
    owner: 'rob@example.com',
    roles: ['reader'],
    scopes: ['*'],
  });
  const keyDirectory = join(directory, '.reins-keys', 'credentials');
  createKeyDirectory(keyDirectory);
  const auth = await Authenticator.open({ store: identity, keys: directoryKeySource(keyDirectory) });
  token = (await auth.issue('reader', { sessionId: 'ops-session' })).token;
  await auth.close();
  await identity.close();
  serve = await startServe(join(directory, 'reins.yaml'), (line) => log.push(line));
  client = await connectHttp(serve.gatewayUrl, token);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await serve?.close();
  killMarked(mark);
  rmSync(directory, { recursive: true, force: true });
});

/** The gateway listener's origin (its MCP endpoint is at `/mcp`). */
const gatewayOrigin = () => new URL(serve.gatewayUrl).origin;

async function scrape(origin: string): Promise<MetricFamilies> {
  const response = await fetch(`${origin}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseMetrics(await response.text());
}

async function readiness(origin: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${origin}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness };
}

const failing = (body: Readiness) => body.checks.filter((check) => !check.ok).map((check) => check.name);

/** The value of a counter, 0 while it has no series yet. */
const count = (families: MetricFamilies, name: string, labels: Record<string, string>) =>
  metricValue(families, name, labels) ?? 0;

describe('health, readiness and metrics', () => {
  it('serves all three, without credentials, on the gateway listener and the control plane listener', async () => {
    for (const origin of [gatewayOrigin(), serve.controlUrl]) {
      const live = await fetch(`${origin}/healthz`);
      expect(live.status).toBe(200);
      const ready = await readiness(origin);
      expect(ready.status).toBe(200);
      expect(ready.body.ready).toBe(true);
      expect(ready.body.checks.map((check) => check.name)).toEqual(['policy', 'store', 'upstream:memory']);
      const families = await scrape(origin);
      expect(metricValue(families, 'reins_upstream_up', { upstream: 'memory' })).toBe(1);
    }
  });

  it('counts the calls, decisions and refused credentials exactly as they happened', async () => {
    const before = await scrape(gatewayOrigin());
    for (const query of ['alpha', 'beta', 'gamma'])
      await client.callTool({ name: 'memory__search_nodes', arguments: { query } });
    for (const query of ['secret-1', 'secret-2']) {
      const denied = await client.callTool({ name: 'memory__search_nodes', arguments: { query } });
      expect(denied.isError).toBe(true);
    }
    const forged = await fetch(serve.gatewayUrl, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-credential', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    // both listeners serve the one registry of the process
    for (const origin of [gatewayOrigin(), serve.controlUrl]) {
      const after = await scrape(origin);
      const moved = (name: string, labels: Record<string, string> = {}) =>
        count(after, name, labels) - count(before, name, labels);
      expect(moved('reins_decisions_total', { effect: 'allow', rule: 'searches' })).toBe(3);
      expect(moved('reins_decisions_total', { effect: 'deny', rule: 'no-secrets' })).toBe(2);
      expect(moved('reins_calls_total', { effect: 'allow', outcome: 'ok' })).toBe(3);
      expect(moved('reins_calls_total', { effect: 'deny', outcome: 'denied' })).toBe(2);
      expect(moved('reins_decision_duration_seconds_count', { effect: 'allow' })).toBe(3);
      expect(moved('reins_call_duration_seconds_count', { effect: 'deny' })).toBe(2);
      const rejections = after.get('reins_credential_rejections_total')?.metrics ?? [];
      const rejectedBefore = before.get('reins_credential_rejections_total')?.metrics ?? [];
      const total = (series: typeof rejections) =>
        series.reduce((sum, metric) => sum + Number(metric.value), 0);
      expect(total(rejections) - total(rejectedBefore)).toBe(1);
      // every call's intent and outcome were committed: batches counted, nothing left queued
      expect(moved('reins_audit_commit_duration_seconds_count', { result: 'ok' })).toBeGreaterThan(0);
      expect(metricValue(after, 'reins_audit_queue_depth')).toBe(0);
      expect(metricValue(after, 'reins_approvals_pending')).toBe(0);
      // nothing of the calls' arguments or the agent reaches the metrics
      const text = await (await fetch(`${origin}/metrics`)).text();
      for (const leaked of ['secret-1', 'alpha', 'reader', 'ops-session', token])
        expect(text).not.toContain(leaked);
    }
  });

  it('counts the calls of the remote protocol when they end: at completion, or at once when denied', async () => {
    const before = await scrape(gatewayOrigin());
    const agent = new RemoteGovernor({ url: gatewayOrigin(), token });
    const opened = await agent.open({ tool: 'memory/search_nodes', args: { query: 'remote' } });
    expect(opened.status).toBe('ready');
    const meanwhile = await scrape(gatewayOrigin());
    // the agent is running its tool: the call has not ended yet
    expect(count(meanwhile, 'reins_calls_total', { effect: 'allow', outcome: 'ok' })).toBe(
      count(before, 'reins_calls_total', { effect: 'allow', outcome: 'ok' }),
    );
    await agent.complete(opened.id, { ok: true, result: 'nothing found' });
    const denied = await agent.open({ tool: 'memory/search_nodes', args: { query: 'secret-remote' } });
    expect(denied.status).toBe('denied');
    const after = await scrape(gatewayOrigin());
    const moved = (name: string, labels: Record<string, string>) =>
      count(after, name, labels) - count(before, name, labels);
    expect(moved('reins_calls_total', { effect: 'allow', outcome: 'ok' })).toBe(1);
    expect(moved('reins_decisions_total', { effect: 'allow', rule: 'searches' })).toBe(1);
    expect(moved('reins_decisions_total', { effect: 'deny', rule: 'no-secrets' })).toBe(1);
  });

  it('turns unready naming the upstream while it is down, and ready again when it is back', async () => {
    const [upstream] = markedProcesses(mark);
    if (upstream === undefined) throw new Error('the upstream process was not found');
    writeFileSync(gate, 'down'); // its restarts fail until the gate is gone
    process.kill(upstream.pid, 'SIGKILL');
    const down = await eventually(async () => {
      const answer = await readiness(gatewayOrigin());
      return answer.status === 503 && answer;
    });
    expect(failing(down.body)).toEqual(['upstream:memory']);
    expect((await readiness(serve.controlUrl)).status).toBe(503);
    const families = await scrape(gatewayOrigin());
    expect(metricValue(families, 'reins_upstream_up', { upstream: 'memory' })).toBe(0);
    rmSync(gate);
    const back = await eventually(
      async () => {
        const answer = await readiness(gatewayOrigin());
        return answer.status === 200 && answer;
      },
      { timeoutMs: 30_000 },
    );
    expect(back.body.ready).toBe(true);
    const after = await scrape(gatewayOrigin());
    expect(metricValue(after, 'reins_upstream_up', { upstream: 'memory' })).toBe(1);
    expect(metricValue(after, 'reins_upstream_restarts_total', { upstream: 'memory' })).toBe(1);
    const search = await client.callTool({ name: 'memory__search_nodes', arguments: { query: 'again' } });
    expect(search.isError).toBeFalsy();
  }, 60_000);

  it('turns unready naming the store while another connection holds its write lock', async () => {
    const holder = new Database(join(directory, 'reins.db'));
    try {
      holder.exec('BEGIN IMMEDIATE');
      // readiness reuses a store probe's answer for a second, so it turns within that
      const locked = await eventually(async () => {
        const answer = await readiness(gatewayOrigin());
        expect(answer.status).toBe(503);
        return answer;
      });
      expect(failing(locked.body)).toEqual(['store']);
      expect(locked.body.checks.find((check) => check.name === 'store')?.detail).toBe(
        'not writable (SQLITE_BUSY)',
      );
      expect(failing((await readiness(serve.controlUrl)).body)).toEqual(['store']);
      expect((await fetch(`${gatewayOrigin()}/healthz`)).status).toBe(200); // alive all the same
      holder.exec('ROLLBACK');
      await eventually(async () => expect((await readiness(gatewayOrigin())).status).toBe(200));
    } finally {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  });
});
