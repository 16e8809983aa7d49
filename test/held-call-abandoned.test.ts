/**
 * @module test/held-call-abandoned.test
 * Finding (issue 12): a call held for approval outlived the client waiting for it. The SDK client gave
 * up (its request timeout), or was killed with SIGKILL, and an approval cast later still ran the call,
 * with nobody listening. Now a call held on an MCP request ends with the connection that waits for it:
 * recorded as `abandoned`, its approval request closed, and a later vote releases nothing. Also: the
 * approver's vote is chained before the outcome of the call it released (the log's order is the order of
 * events). End to end: official SDK clients over Streamable HTTP (`reins gateway`) and stdio (`reins
 * mcp`), a counting upstream that records every execution, votes cast by separate CLI processes.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { type AuditLine, COUNTING_SERVER, useHeldCallGateway } from './support/held-call-gateway.js';
import { connectHttp, connectHttpSession, sessionHeaders } from './support/http-gateway.js';
import { connectThroughReins } from './support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '..');

const fixture = useHeldCallGateway('reins-held-abandoned-');

async function httpClient(agent: string): Promise<Client> {
  const client = await connectHttp(fixture.gateway.endpoint, await fixture.tokenFor(agent));
  fixture.clients.push(client);
  return client;
}

async function stdioClient(agent: string, label: string): Promise<Client> {
  const client = await connectThroughReins({
    agent,
    policy: join(fixture.directory, 'policy.yaml'),
    db: fixture.db,
    lock: join(fixture.directory, 'reins.lock'),
    name: 'counting',
    upstream: ['--import', 'tsx', COUNTING_SERVER, fixture.executions, label],
    clientName: 'held-abandoned-test',
    reinsArgs: ['--approval-timeout', '60000'],
  });
  fixture.clients.push(client);
  return client;
}

/** After the waiting client is gone, the held `write` never ran for `label`. */
const expectAbandoned = (agent: string, decisionId: string, label: string) =>
  fixture.expectAbandoned(agent, decisionId, (run) => run.label === label && run.tool === 'write');

/** A client that stops waiting for its held write (its request times out, as the SDK's does). */
async function giveUpWhileHeld(client: Client): Promise<void> {
  // the upstream is up and the session open: only the held call can run out of time
  await client.callTool({ name: 'counting__read', arguments: {} });
  const held = client.callTool({ name: 'counting__write', arguments: {} }, undefined, { timeout: 1_500 });
  await expect(held).rejects.toThrow(/timed out/i);
}

describe('a held call ends with the connection that waits for it', () => {
  it('over Streamable HTTP, when the SDK client times out', async () => {
    fixture.createAgent('timeout-http');
    await giveUpWhileHeld(await httpClient('timeout-http'));
    await expectAbandoned('timeout-http', latestHeldDecision('timeout-http'), 'http');
  }, 60_000);

  it('over Streamable HTTP, when the client process is killed', async () => {
    fixture.createAgent('killed-http');
    const token = await fixture.tokenFor('killed-http');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/support/held-call-client.ts'), fixture.gateway.endpoint, token],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    fixture.processes.push(child);
    const decisionId = await fixture.waitForHeld('killed-http');
    child.kill('SIGKILL');
    await expectAbandoned('killed-http', decisionId, 'http');
  }, 60_000);

  it('over stdio, when the SDK client times out', async () => {
    fixture.createAgent('timeout-stdio');
    await giveUpWhileHeld(await stdioClient('timeout-stdio', 'stdio-timeout'));
    await expectAbandoned('timeout-stdio', latestHeldDecision('timeout-stdio'), 'stdio-timeout');
  }, 60_000);

  it('refuses a request id already waiting in the session, so a disconnect ends the right call', async () => {
    fixture.createAgent('reused-id');
    const token = await fixture.tokenFor('reused-id');
    const { client, transport } = await connectHttpSession(fixture.gateway.endpoint, token);
    fixture.clients.push(client);
    const headers = sessionHeaders(token, transport);
    const write = (n: number) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'counting__write', arguments: { n } },
      });
    const first = new AbortController();
    const held = fetch(fixture.gateway.endpoint, {
      method: 'POST',
      headers,
      body: write(1),
      signal: first.signal,
    });
    const decisionId = await fixture.waitForHeld('reused-id');
    const reused = await fetch(fixture.gateway.endpoint, { method: 'POST', headers, body: write(2) });
    expect(reused.status).toBe(409);
    expect(((await reused.json()) as { error: { message: string } }).error.message).toMatch(/already/);
    first.abort();
    await held.then((response) => response.body?.cancel()).catch(() => {});
    await expectAbandoned('reused-id', decisionId, 'http');
  }, 60_000);

  it('chains the vote that released a call before the call outcome', async () => {
    fixture.createAgent('approved-http');
    const client = await httpClient('approved-http');
    const held = client.callTool({ name: 'counting__write', arguments: { n: 1 } }, undefined, {
      timeout: 30_000,
    }) as Promise<CallToolResult>;
    const decisionId = await fixture.waitForHeld('approved-http');
    const vote = fixture.approve(decisionId, 'ok');
    expect(vote.status).toBe(0);
    expect((await held).isError).toBeFalsy();
    const lines = fixture.auditOf('approved-http').filter((line) => line.event.decisionId === decisionId);
    const approve = lines.find((line) => line.event.action === 'approval.approve');
    const outcome = lines.find((line) => line.event.kind === 'call-outcome');
    expect(outcome?.event.outcome).toBe('ok');
    expect(approve).toBeDefined();
    expect((approve as AuditLine).seq).toBeLessThan((outcome as AuditLine).seq);
  }, 60_000);
});

/** The newest held intent of an agent (its approval request may already be closed). */
function latestHeldDecision(agent: string): string {
  const intents = fixture
    .reins('audit', 'query', '--agent', agent, '--kind', 'call-intent', '--format', 'json')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);
  const last = intents.at(-1);
  if (last === undefined) throw new Error(`no intent of ${agent}`);
  return last.event.decisionId;
}
