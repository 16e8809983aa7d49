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
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionLog } from './support/counting-tools.js';
import { eventually, present } from './support/eventually.js';
import { COUNTING_SERVER, type HeldCallGateway, startHeldCallGateway } from './support/held-call-gateway.js';
import { connectWithCredential, type RunningGateway } from './support/http-gateway.js';
import { reins, runReinsAs } from './support/reins-cli.js';
import { connectThroughReins } from './support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '..');

let fixture: HeldCallGateway;
let directory: string;
let db: string;
let executions: string;
let gateway: RunningGateway;
let operators: { admin: string; approver: string };
const clients: Client[] = [];
const processes: ChildProcess[] = [];

beforeAll(async () => {
  fixture = await startHeldCallGateway('reins-held-abandoned-');
  ({ directory, db, executions, gateway, operators } = fixture);
}, 60_000);

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  for (const client of clients) await client.close().catch(() => {});
  expect(await fixture?.close()).toBe(0);
});

const createAgent = (id: string) => fixture.createAgent(id);
const tokenFor = (agent: string) => fixture.tokenFor(agent);

async function httpClient(agent: string): Promise<Client> {
  const { client } = await connectWithCredential(gateway.endpoint, await tokenFor(agent));
  clients.push(client);
  return client;
}

async function stdioClient(agent: string, label: string): Promise<Client> {
  const client = await connectThroughReins({
    agent,
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, 'reins.lock'),
    name: 'counting',
    upstream: ['--import', 'tsx', COUNTING_SERVER, executions, label],
    clientName: 'held-abandoned-test',
    reinsArgs: ['--approval-timeout', '60000'],
  });
  clients.push(client);
  return client;
}

interface AuditLine {
  seq: number;
  event: { kind: string; decisionId: string; outcome?: string; action?: string; error?: string };
}

/** Every record about one agent, in chain order. */
function auditOf(agent: string): AuditLine[] {
  return reins(db, directory, 'audit', 'query', '--agent', agent, '--format', 'json')
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditLine);
}

/** The agent's held call, once its approval request is stored. */
async function waitForHeld(agent: string): Promise<string> {
  return eventually(
    () => {
      const pending = JSON.parse(reins(db, directory, 'approvals', 'list', '--format', 'json')) as {
        id: string;
        agentId: string;
      }[];
      return present(
        pending.find((request) => request.agentId === agent)?.id,
        `pending: ${JSON.stringify(pending)}`,
      );
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `a held call of ${agent}` },
  );
}

async function waitForOutcome(agent: string, decisionId: string): Promise<AuditLine> {
  return eventually(
    () =>
      present(
        auditOf(agent).find(
          (line) => line.event.kind === 'call-outcome' && line.event.decisionId === decisionId,
        ),
        () =>
          `${JSON.stringify(auditOf(agent))} ${gateway.log.join('\n')} ${reins(db, directory, 'approvals', 'list', '--status', 'cancelled', '--format', 'json')}`,
      ),
    { timeoutMs: 20_000, intervalMs: 100, what: `an outcome recorded for ${decisionId}` },
  );
}

/** After the waiting client is gone: abandoned on record, the request closed, a late vote runs nothing. */
async function expectAbandoned(agent: string, decisionId: string, label: string): Promise<void> {
  const outcome = await waitForOutcome(agent, decisionId);
  expect(outcome.event.outcome).toBe('abandoned');
  const stored = JSON.parse(reins(db, directory, 'approvals', 'show', decisionId, '--format', 'json'));
  expect(stored.status).toBe('cancelled');
  const vote = runReinsAs(
    operators.approver,
    db,
    directory,
    'approvals',
    'approve',
    decisionId,
    '--reason',
    'late look',
  );
  expect(vote.status).not.toBe(0);
  expect(vote.stderr).toMatch(/not pending|cancelled/);
  // give a wrongly released call every chance to run before looking
  await new Promise((done) => setTimeout(done, 1_500));
  const ran = new ExecutionLog(executions).newSince();
  expect(ran.filter((run) => run.label === label && run.tool === 'write')).toEqual([]);
  expect(reins(db, directory, 'audit', 'verify')).toMatch(/verified|ok/i);
}

/** A client that stops waiting for its held write (its request times out, as the SDK's does). */
async function giveUpWhileHeld(client: Client): Promise<void> {
  // the upstream is up and the session open: only the held call can run out of time
  await client.callTool({ name: 'counting__read', arguments: {} });
  const held = client.callTool({ name: 'counting__write', arguments: {} }, undefined, { timeout: 1_500 });
  await expect(held).rejects.toThrow(/timed out/i);
}

describe('a held call ends with the connection that waits for it', () => {
  it('over Streamable HTTP, when the SDK client times out', async () => {
    createAgent('timeout-http');
    await giveUpWhileHeld(await httpClient('timeout-http'));
    await expectAbandoned('timeout-http', latestHeldDecision('timeout-http'), 'http');
  }, 60_000);

  it('over Streamable HTTP, when the client process is killed', async () => {
    createAgent('killed-http');
    const token = await tokenFor('killed-http');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/support/held-call-client.ts'), gateway.endpoint, token],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    processes.push(child);
    const decisionId = await waitForHeld('killed-http');
    child.kill('SIGKILL');
    await expectAbandoned('killed-http', decisionId, 'http');
  }, 60_000);

  it('over stdio, when the SDK client times out', async () => {
    createAgent('timeout-stdio');
    await giveUpWhileHeld(await stdioClient('timeout-stdio', 'stdio-timeout'));
    await expectAbandoned('timeout-stdio', latestHeldDecision('timeout-stdio'), 'stdio-timeout');
  }, 60_000);

  it('refuses a request id already waiting in the session, so a disconnect ends the right call', async () => {
    createAgent('reused-id');
    const token = await tokenFor('reused-id');
    const transport = new StreamableHTTPClientTransport(new URL(gateway.endpoint), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'reused-id-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-session-id': transport.sessionId as string,
      'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
    };
    const write = (n: number) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'tools/call',
        params: { name: 'counting__write', arguments: { n } },
      });
    const first = new AbortController();
    const held = fetch(gateway.endpoint, { method: 'POST', headers, body: write(1), signal: first.signal });
    const decisionId = await waitForHeld('reused-id');
    const reused = await fetch(gateway.endpoint, { method: 'POST', headers, body: write(2) });
    expect(reused.status).toBe(409);
    expect(((await reused.json()) as { error: { message: string } }).error.message).toMatch(/already/);
    first.abort();
    await held.then((response) => response.body?.cancel()).catch(() => {});
    await expectAbandoned('reused-id', decisionId, 'http');
  }, 60_000);

  it('chains the vote that released a call before the call outcome', async () => {
    createAgent('approved-http');
    const client = await httpClient('approved-http');
    const held = client.callTool({ name: 'counting__write', arguments: { n: 1 } }, undefined, {
      timeout: 30_000,
    }) as Promise<CallToolResult>;
    const decisionId = await waitForHeld('approved-http');
    const vote = runReinsAs(
      operators.approver,
      db,
      directory,
      'approvals',
      'approve',
      decisionId,
      '--reason',
      'ok',
    );
    expect(vote.status).toBe(0);
    expect((await held).isError).toBeFalsy();
    const lines = auditOf('approved-http').filter((line) => line.event.decisionId === decisionId);
    const approve = lines.find((line) => line.event.action === 'approval.approve');
    const outcome = lines.find((line) => line.event.kind === 'call-outcome');
    expect(outcome?.event.outcome).toBe('ok');
    expect(approve).toBeDefined();
    expect((approve as AuditLine).seq).toBeLessThan((outcome as AuditLine).seq);
  }, 60_000);
});

/** The newest held intent of an agent (its approval request may already be closed). */
function latestHeldDecision(agent: string): string {
  const intents = reins(
    db,
    directory,
    'audit',
    'query',
    '--agent',
    agent,
    '--kind',
    'call-intent',
    '--format',
    'json',
  )
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as AuditLine);
  const last = intents.at(-1);
  if (last === undefined) throw new Error(`no intent of ${agent}`);
  return last.event.decisionId;
}
