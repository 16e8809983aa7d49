/**
 * @module test/security/stdio-agent-standing.test
 * Finding (issue 11, high): `reins mcp` checked its agent only at start, so after `reins agents
 * suspend` (from another terminal) a running stdio gateway kept serving the suspended agent. End to
 * end: the built `reins mcp` fronting server-everything on a SQLite store, the official SDK client,
 * and the operator's commands run as separate CLI processes on the same store. Pause, resume and kill
 * from another process are covered here for the stdio transport too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { textOf } from '../support/http-gateway.js';
import { createOperators, reins, reinsAs } from '../support/reins-cli.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

let directory: string;
let db: string;
/** User API tokens of the operators acting from other processes. */
let operators: { admin: string; approver: string };
const clients: Client[] = [];

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-stdio-standing-'));
  db = join(directory, 'reins.db');
  operators = createOperators(db, directory);
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stdio-standing }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: echo, effect: allow, tool: { name: echo }, reason: harmless }
`,
  );
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function startMcp(agent: string): Promise<{ client: Client; stderr: string[] }> {
  reins(
    db,
    directory,
    'agents',
    'create',
    agent,
    '--owner',
    'olivia@example.com',
    '--scopes',
    'everything/*',
  );
  const stderr: string[] = [];
  const client = await connectThroughReins({
    agent,
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, 'reins.lock'),
    name: 'everything',
    upstream: [EVERYTHING, 'stdio'],
    clientName: 'stdio-standing-test',
    onStderr: (chunk) => stderr.push(chunk),
  });
  clients.push(client);
  return { client, stderr };
}

const echo = (client: Client, message: string) =>
  client.callTool({ name: 'everything__echo', arguments: { message } }) as Promise<CallToolResult>;

/** Waits until the gateway logs `pattern`: it heard the change through the store's change feed. */
async function heard(stderr: string[], pattern: RegExp): Promise<void> {
  await eventually(() => expect(stderr.join('')).toMatch(pattern), {
    what: `the gateway logging ${pattern}`,
  });
}

/** Calls until the answer satisfies `done` (an operator's change reaches the gateway by polling). */
function callUntil(client: Client, done: (result: CallToolResult) => boolean): Promise<CallToolResult> {
  return eventually(async () => {
    const result = await echo(client, 'probe');
    expect(done(result), textOf(result)).toBe(true);
    return result;
  });
}

interface AuditLine {
  event: {
    kind: string;
    decisionId: string;
    outcome?: string;
    decision?: { effect: string; diagnostics: { code: string }[] };
  };
}

function auditOf(agent: string): AuditLine['event'][] {
  return reins(db, directory, 'audit', 'query', '--agent', agent, '--format', 'json')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as AuditLine).event);
}

describe('reins mcp sees the standing of its agent on every call', () => {
  it('refuses the next call after `reins agents suspend` from another process, and records the denial', async () => {
    const { client, stderr } = await startMcp('stdio-bot');
    expect(textOf(await echo(client, 'before'))).toContain('before');

    reinsAs(operators.admin, db, directory, 'agents', 'suspend', 'stdio-bot', '--reason', 'misbehaving');
    await heard(stderr, /stdio-bot.*suspended/);
    const refused = await echo(client, 'after suspension');
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/suspended/);
    expect(textOf(refused)).not.toContain('Echo: after suspension');

    const records = auditOf('stdio-bot');
    const intent = records.filter((event) => event.kind === 'call-intent').at(-1);
    expect(intent?.decision?.effect).toBe('deny');
    expect(intent?.decision?.diagnostics.map((diagnostic) => diagnostic.code)).toContain('agent_not_active');
    const outcome = records.find(
      (event) => event.kind === 'call-outcome' && event.decisionId === intent?.decisionId,
    );
    expect(outcome?.outcome).toBe('denied');

    // resuming the agent does not bring the running gateway back: its start counts as a credential
    // issued before the suspension (which revoked them all); a restarted `reins mcp` serves again
    reinsAs(operators.admin, db, directory, 'agents', 'resume', 'stdio-bot', '--reason', 'checked');
    await heard(stderr, /stdio-bot.*active/);
    expect((await echo(client, 'after resume')).isError).toBe(true);
  }, 60_000);

  it('follows pause, resume and kill of its session from another process', async () => {
    const { client } = await startMcp('paused-bot');
    expect(textOf(await echo(client, 'first'))).toContain('first');
    const [session] = JSON.parse(
      reins(db, directory, 'sessions', 'list', '--agent', 'paused-bot', '--format', 'json'),
    ) as { id: string }[];
    const operator = ['--reason', 'checking'];

    reinsAs(operators.approver, db, directory, 'sessions', 'pause', session?.id ?? '', ...operator);
    const paused = await callUntil(client, (result) => result.isError === true);
    expect(textOf(paused)).toMatch(/paused/);
    reinsAs(operators.approver, db, directory, 'sessions', 'resume', session?.id ?? '', ...operator);
    const resumed = await callUntil(client, (result) => result.isError !== true);
    expect(textOf(resumed)).toContain('Echo: probe');
    reinsAs(operators.approver, db, directory, 'sessions', 'kill', session?.id ?? '', ...operator);
    const killed = await callUntil(client, (result) => result.isError === true);
    expect(textOf(killed)).toMatch(/killed/);
  }, 60_000);
});
