/**
 * @module test/security/held-call-suspension.test
 * Finding (issue 11, high): a call waiting for approval was still released when someone approved it
 * after its agent had been suspended. Now a suspension refuses the agent's held calls at once, an
 * approval cast after it releases nothing, and nothing runs upstream. End to end over both transports
 * on one SQLite store with durable approvals: `reins mcp` (built CLI) and `reins gateway` (Streamable
 * HTTP), official SDK clients, the operator's suspension and the approver's vote run as separate CLI
 * processes, as in test/approvals-two-processes.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import {
  connectWithCredential,
  type RunningGateway,
  startHttpGateway,
  textOf,
} from '../support/http-gateway.js';
import { createOperators, reins, reinsAs, runReinsAs, waitForPendingApproval } from '../support/reins-cli.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';
import { credentialKeysBeside } from '../support/test-keys.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

let directory: string;
let db: string;
let gateway: RunningGateway;
/** User API tokens of the operators acting from other processes. */
let operators: { admin: string; approver: string };
const clients: Client[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-held-suspension-'));
  db = join(directory, 'reins.db');
  operators = createOperators(db, directory);
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held-echo }
tools:
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: echo-needs-a-human, effect: approve, tool: { name: echo }, reason: every echo is reviewed }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, approvalTimeout: 15s }
`,
  );
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  if (directory) rmSync(directory, { recursive: true, force: true });
});

function createAgent(id: string): void {
  reins(db, directory, 'agents', 'create', id, '--owner', 'olivia@example.com', '--scopes', 'everything/*');
}

async function stdioClient(agent: string): Promise<Client> {
  const client = await connectThroughReins({
    agent,
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, 'reins.lock'),
    name: 'everything',
    upstream: [EVERYTHING, 'stdio'],
    clientName: 'held-suspension-test',
    reinsArgs: ['--approval-timeout', '15000'],
  });
  clients.push(client);
  return client;
}

async function httpClient(agent: string): Promise<Client> {
  const store = new SqliteIdentityStore({ path: db });
  const auth = await Authenticator.open({ store, keys: credentialKeysBeside(directory) });
  try {
    const { client } = await connectWithCredential(gateway.endpoint, (await auth.issue(agent)).token);
    clients.push(client);
    return client;
  } finally {
    auth.close();
    await store.close();
  }
}

/** Holds an echo, suspends the agent, then approves it: the call must be refused and never run. */
async function suspendWhileHeld(client: Client, agent: string): Promise<void> {
  const held = client.callTool(
    { name: 'everything__echo', arguments: { message: 'wire 10 EUR' } },
    undefined,
    {
      timeout: 60_000,
    },
  ) as Promise<CallToolResult>;
  const request = await waitForPendingApproval(db, directory);
  expect(request.agentId).toBe(agent);
  reinsAs(operators.admin, db, directory, 'agents', 'suspend', agent, '--reason', 'compromised');
  // an approver who did not notice the suspension votes: this must release nothing
  const vote = runReinsAs(
    operators.approver,
    db,
    directory,
    'approvals',
    'approve',
    request.id,
    '--reason',
    'looks fine',
  );
  expect(vote.status).not.toBe(0);
  expect(vote.stderr).toMatch(/suspended|cancelled|not pending/);

  const result = await held;
  expect(result.isError).toBe(true);
  expect(textOf(result)).toMatch(/suspended/);
  expect(textOf(result)).not.toContain('Echo: wire 10 EUR');
  const records = reins(
    db,
    directory,
    'audit',
    'query',
    '--agent',
    agent,
    '--kind',
    'call-outcome',
    '--format',
    'json',
  )
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { event: { decisionId: string; outcome: string } });
  const outcome = records.find((record) => record.event.decisionId === request.id);
  expect(outcome?.event.outcome).toBe('denied');
  const stored = JSON.parse(reins(db, directory, 'approvals', 'show', request.id, '--format', 'json'));
  expect(stored.status).not.toBe('used');
}

describe('a held call does not survive the suspension of its agent', () => {
  it('over stdio (reins mcp)', async () => {
    createAgent('held-stdio');
    await suspendWhileHeld(await stdioClient('held-stdio'), 'held-stdio');
  }, 90_000);

  it('over Streamable HTTP (reins gateway)', async () => {
    createAgent('held-http');
    await suspendWhileHeld(await httpClient('held-http'), 'held-http');
  }, 90_000);
});
