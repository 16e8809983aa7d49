/**
 * @module test/support/dashboard-fixture
 * A real deployment for the dashboard (issue 17): `reins serve` (in-process) in front of
 * server-everything from npm and a scripted upstream whose one tool is named like an XSS payload, with
 * known traffic sent through the real gateway by the official MCP SDK client — allowed calls, denied
 * calls, held calls a human approved or refused after a wait — and a second control plane on the same
 * SQLite store that is handed an `OpsStatus` reporting one upstream down (the health a gateway process
 * reports; here given, so that a test can show a down upstream without killing one). Used by the
 * dashboard API and browser tests and by `npm run screenshots`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createControlApi, type PolicyStatusSource } from '../../src/api/control-api.js';
import { type ControlServer, listenControlApi } from '../../src/api/control-server.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { wireOversight } from '../../src/cli/oversight-wiring.js';
import { directoryKeySource } from '../../src/keys/key-source.js';
import { StoreOversight } from '../../src/oversight/store-oversight.js';
import type { OpsStatus, UpstreamHealth } from '../../src/spec/ops.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { type ConsoleFixture, startConsoleFixture } from './console-fixture.js';
import { policyFrom } from './policy-fixtures.js';

const require = createRequire(import.meta.url);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');
const SCRIPTED_SERVER = join(ROOT, 'test/support/scripted-tools-server.ts');

/** A tool name an agent's upstream chose: it must reach the page as text. */
export const HTML_TOOL = '<img src=x onerror=alert(1)>';

const DASHBOARD_RULES = `tools:
  - { server: everything, name: "echo", risk: high, effects: [external] }
  - { server: everything, name: "get-sum", risk: low, effects: [read] }
rules:
  - { id: sums, effect: allow, tool: { server: everything, name: get-sum }, reason: arithmetic is harmless }
  - { id: echo-needs-a-human, effect: approve, tool: { server: everything, name: echo }, reason: messages leave the building }
  - { id: no-env, effect: deny, tool: { server: everything, name: get-env }, reason: the environment holds secrets }
  - { id: no-scripted, effect: deny, tool: { server: scripted, name: "*" }, reason: untrusted upstream }
`;

export const DASHBOARD_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: dashboard }
${DASHBOARD_RULES}`;

/** The traffic the fixture sends, and so what the dashboard must count. */
export const TRAFFIC = {
  allow: 3,
  deny: 3,
  approve: 2,
  /** Top denied tools, most denied first. */
  topDenied: [
    { tool: `scripted/${HTML_TOOL}`, count: 2 },
    { tool: 'everything/get-env', count: 1 },
  ],
  /** The least time each held call waited before the human decided (they wait at least this long). */
  minWaitMs: 300,
} as const;

/** The health the second control plane reports: `scripted` is down. */
export const UPSTREAMS: readonly UpstreamHealth[] = [
  { name: 'everything', connected: true, restarts: 0, since: '2026-12-06T08:00:00.000Z' },
  {
    name: 'scripted',
    connected: false,
    restarts: 3,
    since: '2026-12-06T09:30:00.000Z',
    lastError: 'exited with code 1 <b>boom</b>',
  },
];

export interface DashboardFixture {
  readonly console: ConsoleFixture;
  /** `reins serve`'s control plane (no `OpsStatus` handed to it by this fixture). */
  readonly serveUrl: string;
  /** A control plane on the same store with the `OpsStatus` above. */
  readonly opsUrl: string;
  close(): Promise<void>;
}

function configOf(tools: string): string {
  return `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}] }
  - name: scripted
    stdio:
      command: ${JSON.stringify(process.execPath)}
      args: [--import, tsx, ${JSON.stringify(SCRIPTED_SERVER)}]
      env: { SCRIPTED_TOOLS: ${JSON.stringify(tools)} }
      cwd: ${JSON.stringify(ROOT)}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
limits: { callTimeout: 20s, approvalTimeout: 5m }
`;
}

export async function startDashboardFixture(): Promise<DashboardFixture> {
  const tools = join(mkdtempSync(join(tmpdir(), 'reins-dashboard-tools-')), 'tools.json');
  writeFileSync(
    tools,
    JSON.stringify([[{ name: HTML_TOOL, description: 'says hello', inputSchema: { type: 'object' } }]]),
  );
  const fixture = await startConsoleFixture({
    policy: DASHBOARD_POLICY,
    config: () => configOf(tools),
  });
  try {
    await sendTraffic(fixture);
    const ops = await startOpsControlPlane(fixture.directory);
    return {
      console: fixture,
      serveUrl: fixture.serve.controlUrl,
      opsUrl: ops.server.url,
      close: async () => {
        await ops.close();
        await fixture.close();
        rmSync(dirname(tools), { recursive: true, force: true });
      },
    };
  } catch (error) {
    await fixture.close();
    throw error;
  }
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return client.callTool({ name, arguments: args });
}

/** The traffic of TRAFFIC, through the real gateway. */
async function sendTraffic(fixture: ConsoleFixture): Promise<void> {
  const agent = await fixture.mcp(await fixture.agentToken('dashboard-1'));
  for (let n = 0; n < TRAFFIC.allow; n++) await call(agent, 'everything__get-sum', { a: n, b: 1 });
  await call(agent, `scripted__${HTML_TOOL}`);
  await call(agent, `scripted__${HTML_TOOL}`);
  await call(agent, 'everything__get-env');
  // two held calls: one approved, one refused, each after the human waited at least minWaitMs
  for (const approve of [true, false]) {
    const held = call(agent, 'everything__echo', { message: approve ? 'approve me' : 'refuse me' });
    const pending = await waitForPending(fixture);
    await new Promise((resolve) => setTimeout(resolve, TRAFFIC.minWaitMs));
    const response = await fetch(
      `${fixture.serve.controlUrl}/v1/approvals/${encodeURIComponent(pending)}/${approve ? 'approve' : 'deny'}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${fixture.tokens.approver}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: approve ? 'fine' : 'not today' }),
      },
    );
    if (!response.ok) throw new Error(`vote failed: ${response.status} ${await response.text()}`);
    await held;
  }
}

async function waitForPending(fixture: ConsoleFixture): Promise<string> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const [first] = await fixture.pendingApprovals();
    if (first) return first.id;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the held call never became a pending approval');
}

/** A control plane on the deployment's store, reporting UPSTREAMS as its process's upstream health. */
async function startOpsControlPlane(
  directory: string,
): Promise<{ server: ControlServer; close(): Promise<void> }> {
  const database = join(directory, 'reins.db');
  const audit = new SqliteAuditLog({ path: database, readOnly: true });
  const identity = new SqliteIdentityStore({ path: database });
  const users = new SqliteUserStore({ path: database });
  const authenticator = await Authenticator.open({
    store: identity,
    keys: directoryKeySource(join(directory, '.reins-keys', 'credentials')),
  });
  const wiring = await wireOversight({ db: database }, { approvalTimeoutMs: 300_000, log: () => {} });
  const policy = policyFrom(DASHBOARD_RULES, { catalogue: '', name: 'dashboard' });
  const source: PolicyStatusSource = {
    current: policy,
    status: () => ({
      path: 'policy.yaml',
      hash: policy.hash,
      files: ['policy.yaml'],
      summary: { ...policy.summary },
      loadedAt: '2026-12-06T08:00:00.000Z',
    }),
  };
  const ops: OpsStatus = {
    readiness: async () => ({
      ready: false,
      checks: UPSTREAMS.map((upstream) => ({ name: `upstream:${upstream.name}`, ok: upstream.connected })),
    }),
    upstreams: () => UPSTREAMS,
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: '' }),
  };
  const oversight = new StoreOversight({
    approvals: wiring.stores.approvals,
    sessions: wiring.stores.sessions,
    identities: identity,
    audit,
  });
  const app = createControlApi({ oversight, audit, users, identity, authenticator, policy: source, ops });
  const server = await listenControlApi(app, { host: '127.0.0.1', port: 0 });
  return {
    server,
    close: async () => {
      await server.close();
      await wiring.close();
      authenticator.close();
      await users.close();
      await identity.close();
      await audit.close();
    },
  };
}
