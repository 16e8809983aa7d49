/**
 * @module test/gateway-approvals.test
 * A call the policy holds for approval stays open at the gateway: the client receives MCP progress
 * notifications while it waits, the call completes once approved, and it is refused when the approval
 * expires.
 */
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../src/gateway/gateway.js';
import { PendingApprovals } from '../src/gateway/pending-approvals.js';
import { Upstream } from '../src/gateway/upstream.js';
import { Harness } from '../src/harness/harness.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { eventually, present } from './support/eventually.js';
import { policyFrom } from './support/policy-fixtures.js';

let upstream: Upstream;
let client: Client;
let audit: SqliteAuditLog;
const approvals = new PendingApprovals(50);

beforeAll(async () => {
  upstream = new Upstream(
    {
      name: 'flaky',
      stdio: {
        command: process.execPath,
        args: ['--import', 'tsx', resolve(import.meta.dirname, 'support/flaky-server.ts')],
        env: {},
      },
    },
    { callTimeoutMs: 5_000 },
  );
  await upstream.connect();
  audit = new SqliteAuditLog({ path: ':memory:' });
  const policy = {
    current: policyFrom(
      `rules:
  - { id: held-echo, effect: approve, tool: { name: echo }, reason: echoes need a human }`,
      { catalogue: 'tools:\n  - { server: flaky, name: "*", risk: high, effects: [external] }' },
    ),
  };
  const harness = new Harness({ policy, audit, approvals: approvals.handler(), approvalTimeoutMs: 1_500 });
  const gateway = new Gateway({ upstreams: [upstream], harness, policy });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await gateway
    .createServer({
      principal: { agentId: 'agent', roles: [], delegatedBy: [], parentSessions: [] },
      sessionId: 's',
    })
    .connect(serverSide);
  client = new Client({ name: 'approvals-test', version: '1.0.0' });
  await client.connect(clientSide);
}, 30_000);

afterAll(async () => {
  await client.close();
  await upstream.close();
  await audit.close();
});

describe('held calls at the gateway', () => {
  it('keeps the call open with progress notifications, and runs it once approved', async () => {
    const progress: Progress[] = [];
    const pending = client.callTool(
      { name: 'flaky__echo', arguments: { text: 'approved echo' } },
      undefined,
      {
        onprogress: (update) => progress.push(update),
        timeout: 10_000,
      },
    );
    // held, and the client has heard so at least twice (a note every 50 ms)
    const waiting = await eventually(
      () => {
        expect(progress.length).toBeGreaterThanOrEqual(2);
        return present(approvals.list()[0], 'the call has not reached the approvals');
      },
      { intervalMs: 10 },
    );
    expect(waiting.request.decision.reasons).toEqual(['echoes need a human']);
    expect(approvals.decide(waiting.request.decisionId, { approved: true, by: 'ops@example.com' })).toBe(
      true,
    );
    const result = (await pending) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: 'text', text: 'approved echo' }]);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]?.message).toBe(
      'waiting for human approval (keep this request open: if you stop waiting, the call is abandoned): echoes need a human',
    );
    const outcome = (await audit.query({ kind: 'call-outcome' })).at(-1)?.event;
    expect(outcome?.kind === 'call-outcome' && outcome.approval).toEqual({
      approved: true,
      by: 'ops@example.com',
    });
  });

  it('refuses the call when nobody approves it in time', async () => {
    const result = (await client.callTool({ name: 'flaky__echo', arguments: { text: 'never' } }, undefined, {
      timeout: 10_000,
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([
      { type: 'text', text: 'Reins refused this call: approval expired after 1500 ms' },
    ]);
    expect(approvals.list()).toEqual([]);
  });
});
