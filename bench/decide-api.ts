/**
 * @module bench/decide-api
 * What `POST /v1/decide` costs a caller in another language: one HTTP round trip to `reins serve`'s
 * control plane (agent credential checked, body validated, shared session status read, policy
 * evaluated), against two baselines measured in the same run: the same decision in-process, and a
 * bare Node HTTP server answering `{}` (the floor of any HTTP round trip on this machine).
 * Run: npm run bench:decide-api
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createControlApi } from '../src/api/control-api.js';
import { listenControlApi } from '../src/api/control-server.js';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { wireOversight } from '../src/cli/oversight-wiring.js';
import { ephemeralKeySource } from '../src/identity/key-ring.js';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import { WindowCounters } from '../src/policy/window-counters.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../src/store/sqlite/sqlite-user-store.js';
import { policyFrom } from '../test/support/policy-fixtures.js';
import { format, machine, summarise } from './measure.js';

const write = (line: string) => process.stdout.write(`${line}\n`);
const REQUESTS = 5_000;
const WARMUP = 500;

const directory = mkdtempSync(join(tmpdir(), 'reins-decide-bench-'));
const database = join(directory, 'reins.db');
const policy = policyFrom(
  `rules:
  - { id: lookups, effect: allow, tool: { server: pay, name: payments.lookup }, reason: lookups are harmless }
  - { id: big-payments, effect: approve, tool: { server: pay, name: payments.send }, when: "args.amount > 1000", reason: big payments need a human }
  - { id: small-payments, effect: allow, tool: { server: pay, name: payments.send }, when: "args.amount <= 1000", reason: small payments are fine }`,
);
const audit = new SqliteAuditLog({ path: database });
const identity = new SqliteIdentityStore({ path: database });
const users = new SqliteUserStore({ path: database });
await new AgentRegistry(identity).create({ id: 'payer', owner: 'bench@example.com', scopes: ['pay/*'] });
const authenticator = await Authenticator.open({ store: identity, audit, keys: ephemeralKeySource() });
const wiring = await wireOversight({ db: database }, { approvalTimeoutMs: 60_000, log: () => {} });
const oversight = new StoreOversight({
  approvals: wiring.stores.approvals,
  sessions: wiring.stores.sessions,
  identities: identity,
  audit,
});
const app = createControlApi({
  oversight,
  audit,
  users,
  identity,
  authenticator,
  policy: {
    current: policy,
    status: () => ({ path: '', hash: policy.hash, files: [], summary: { ...policy.summary }, loadedAt: '' }),
  },
});
const control = await listenControlApi(app, { host: '127.0.0.1', port: 0 });
const { token } = await authenticator.issue('payer', { sessionId: 'bench' });
const body = JSON.stringify({ tool: { server: 'pay', name: 'payments.send' }, args: { amount: 250 } });

async function timeRequests(url: string, init: RequestInit): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < WARMUP + REQUESTS; index++) {
    const started = process.hrtime.bigint();
    const response = await fetch(url, init);
    const answer = (await response.json()) as { effect?: string };
    const elapsed = Number(process.hrtime.bigint() - started) / 1_000;
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(answer)}`);
    if (index >= WARMUP) samples.push(elapsed);
  }
  return samples;
}

const decideSamples = await timeRequests(`${control.url}/v1/decide`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body,
});
const check = (await (
  await fetch(`${control.url}/v1/decide`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  })
).json()) as { effect: string };
if (check.effect !== 'allow') throw new Error(`unexpected decision ${check.effect}`);

// baseline 1: a bare HTTP server on the same machine, same client
const bare = createServer((_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end('{}');
});
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
const barePort = (bare.address() as AddressInfo).port;
const bareSamples = await timeRequests(`http://127.0.0.1:${barePort}/`, { method: 'POST', body });

// baseline 2: the same decision in-process
const principal = { agentId: 'payer', roles: [], delegatedBy: [], parentSessions: [], scopes: ['pay/*'] };
const inProcess: number[] = [];
for (let index = 0; index < WARMUP + REQUESTS; index++) {
  const started = process.hrtime.bigint();
  const now = Date.now();
  policy.evaluate({
    call: {
      principal,
      sessionId: 'bench',
      tool: { server: 'pay', name: 'payments.send' },
      args: { amount: 250 },
      context: {},
    },
    session: { id: 'bench', status: 'active', startedAt: now, history: [], labels: [] },
    counters: new WindowCounters(),
    now,
  });
  if (index >= WARMUP) inProcess.push(Number(process.hrtime.bigint() - started) / 1_000);
}

const decide = summarise(decideSamples);
const floor = summarise(bareSamples);
const local = summarise(inProcess);
write(`machine: ${machine()}`);
write('command: npm run bench:decide-api');
write(`${REQUESTS} sequential requests per row (after ${WARMUP} warm-up), one keep-alive client (fetch)`);
write('');
write('| path | median µs | p99 µs | samples |');
write('| --- | ---: | ---: | ---: |');
write(
  `| POST /v1/decide (agent credential, SQLite store) | ${format(decide.medianUs)} | ${format(decide.p99Us)} | ${decide.samples} |`,
);
write(
  `| bare Node HTTP server answering {} (floor) | ${format(floor.medianUs)} | ${format(floor.p99Us)} | ${floor.samples} |`,
);
write(`| same decision in-process | ${format(local.medianUs)} | ${format(local.p99Us)} | ${local.samples} |`);
write('');
write(`decide over HTTP / bare HTTP round trip (median): ${format(decide.medianUs / floor.medianUs)}x`);

await control.close();
await new Promise<void>((resolve) => bare.close(() => resolve()));
await wiring.close();
authenticator.close();
await users.close();
await identity.close();
await audit.close();
rmSync(directory, { recursive: true, force: true });
