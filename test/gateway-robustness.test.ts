/**
 * @module test/gateway-robustness.test
 * The gateway in front of a misbehaving upstream (test/support/flaky-server.ts over stdio): a hanging
 * tool times out with a clear error, a crashed upstream is restarted and serves again, a call
 * cancelled by the client is cancelled upstream and recorded as cancelled, and an unknown method gets
 * a JSON-RPC error. The gateway stays up throughout.
 */
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, EmptyResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../src/gateway/gateway.js';
import { Upstream } from '../src/gateway/upstream.js';
import { Harness } from '../src/harness/harness.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { eventually, StopWaiting } from './support/eventually.js';
import { policyFrom } from './support/policy-fixtures.js';
import { textOf as text } from './support/tool-result-text.js';

const events: string[] = [];
let upstream: Upstream;
let client: Client;
let audit: SqliteAuditLog;

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
    { callTimeoutMs: 1_000, onEvent: (event) => events.push(`${event.kind}: ${event.message}`) },
  );
  await upstream.connect();
  audit = new SqliteAuditLog({ path: ':memory:' });
  const policy = {
    current: policyFrom('rules:\n  - { id: all, effect: allow, reason: allowed }', {
      catalogue: 'tools:\n  - { server: flaky, name: "*", risk: low, effects: [read] }',
    }),
  };
  const gateway = new Gateway({ upstreams: [upstream], harness: new Harness({ policy, audit }), policy });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await gateway
    .createServer({
      principal: { agentId: 'agent', roles: [], delegatedBy: [], parentSessions: [] },
      sessionId: 's',
    })
    .connect(serverSide);
  client = new Client({ name: 'robustness-test', version: '1.0.0' });
  await client.connect(clientSide);
}, 30_000);

afterAll(async () => {
  await client.close();
  await upstream.close();
  await audit.close();
});

const echo = async () =>
  (await client.callTool({ name: 'flaky__echo', arguments: { text: 'still here' } })) as CallToolResult;
async function outcomes(): Promise<string[]> {
  return (await audit.query({ kind: 'call-outcome' })).map(
    (record) =>
      `${record.event.kind === 'call-outcome' ? record.event.tool.name : ''}:${record.event.kind === 'call-outcome' ? record.event.outcome : ''}`,
  );
}

describe('gateway robustness', () => {
  it('answers a hanging upstream call with a timeout error and keeps serving', async () => {
    const result = (await client.callTool({ name: 'flaky__hang', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/tool failed: .*timed out/i);
    expect(text(await echo())).toBe('still here');
    expect(await outcomes()).toContain('hang:error');
  });

  it('cancels a call upstream when the client cancels it, and records it as cancelled', async () => {
    const controller = new AbortController();
    const pending = client.callTool({ name: 'flaky__slow', arguments: {} }, undefined, {
      signal: controller.signal,
      timeout: 5_000,
    });
    // cancelled once the upstream runs it
    await eventually(() => expect(events.join('\n')).toContain('slow call started'));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await eventually(async () => expect(await outcomes()).toContain('slow:cancelled'));
    expect(text(await echo())).toBe('still here');
  });

  it('gives unknown methods a JSON-RPC error', async () => {
    await expect(client.request({ method: 'reins/no-such-method' }, EmptyResultSchema)).rejects.toThrow(
      /Method not found/i,
    );
    expect(text(await echo())).toBe('still here');
  });

  it('restarts a crashed upstream, which then serves again', async () => {
    const crashed = (await client.callTool({ name: 'flaky__crash', arguments: {} })) as CallToolResult;
    expect(crashed.isError).toBe(true);
    await eventually(
      async () => {
        const result = await echo();
        // while it restarts, calls fail with a clear error; any other error fails the test at once
        if (result.isError && !/unavailable|closed|failed/i.test(text(result)))
          throw new StopWaiting(`unexpected error while the upstream restarts: ${text(result)}`);
        if (result.isError) return false;
        expect(text(result)).toBe('still here');
        return true;
      },
      { what: () => `the upstream coming back (its events: ${events.join('; ')})` },
    );
    expect(events.some((event) => event.startsWith('closed: restarting'))).toBe(true);
  });
});
