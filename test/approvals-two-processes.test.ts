/**
 * @module test/approvals-two-processes.test
 * Several processes on one PostgreSQL database, all real: an MCP client (official SDK) talks to a
 * `reins mcp` process fronting server-everything; the policy holds its `echo` call; a separate
 * `reins approvals approve` process votes (as the approver whose user token it is given); the held call completes in the first process. Then
 * `reins sessions kill` from yet another process refuses the session's next call. Each test run gets
 * its own database, dropped afterwards.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { textOf as text } from './support/tool-result-text.js';

const ROOT = resolve(import.meta.dirname, '..');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const ADMIN_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const database = `reins_test_${randomBytes(6).toString('hex')}`;
const url = (() => {
  const parsed = new URL(ADMIN_URL);
  parsed.pathname = `/${database}`;
  return parsed.toString();
})();

/** Every process of a deployment on a shared store names the same checkpoint key (issue 14). */
const CHECKPOINT_KEY = {
  REINS_CHECKPOINT_KEY: generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString(),
};

let directory: string;
let client: McpClient;
/** The approver's user API token: who acts in `approve` and `kill`. */
let annToken = '';

/** Runs the built CLI; `token` (REINS_TOKEN) is the user API token of whoever runs it. */
function reinsAs(token: string, ...args: string[]): string {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args, '--database-url', url], {
    cwd: directory,
    encoding: 'utf8',
    env: { ...process.env, ...CHECKPOINT_KEY, REINS_TOKEN: token },
  });
  if (result.status !== 0) throw new Error(`reins ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

function reins(...args: string[]): string {
  return reinsAs('', ...args);
}

async function admin(sql: string): Promise<void> {
  const connection = new Client({ connectionString: ADMIN_URL });
  await connection.connect();
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}

beforeAll(async () => {
  await admin(`create database ${database}`);
  directory = mkdtempSync(join(tmpdir(), 'reins-two-processes-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held-echo }
tools:
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - id: echo-needs-a-human
    effect: approve
    tool: { name: echo }
    reason: every echo is reviewed
`,
  );
  reins('agents', 'create', 'echo-bot', '--owner', 'olivia', '--scopes', 'everything/*');
  const rootToken = reins('users', 'create', 'root', '--role', 'admin').trim();
  annToken = reinsAs(rootToken, 'users', 'create', 'ann', '--role', 'approver').trim();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      'echo-bot',
      '--policy',
      join(directory, 'policy.yaml'),
      '--database-url',
      url,
      '--lock',
      join(directory, 'reins.lock'),
      '--name',
      'everything',
      '--',
      process.execPath,
      EVERYTHING,
      'stdio',
    ],
    cwd: directory,
    env: { ...(process.env as Record<string, string>), ...CHECKPOINT_KEY },
    stderr: 'pipe',
  });
  client = new McpClient({ name: 'two-processes-test', version: '1.0.0' });
  await client.connect(transport);
}, 60_000);

afterAll(async () => {
  await client?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
  await admin(`drop database if exists ${database} with (force)`);
});

async function pendingApprovals(): Promise<
  { id: string; sessionId: string; args: Record<string, unknown> }[]
> {
  return JSON.parse(reins('approvals', 'list', '--format', 'json'));
}

async function waitForPending() {
  return eventually(
    async () => {
      const pending = await pendingApprovals();
      expect(pending).not.toEqual([]);
      return pending;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'an approval request' },
  );
}

describe('approvals across processes on PostgreSQL', () => {
  it('a vote cast by another process releases the call held in the gateway process', async () => {
    const held = client.callTool(
      { name: 'everything__echo', arguments: { message: 'wire 10 EUR' } },
      undefined,
      {
        timeout: 60_000,
      },
    );
    const [request] = await waitForPending();
    expect(request?.args).toEqual({ message: 'wire 10 EUR' });
    const voted = reinsAs(annToken, 'approvals', 'approve', request?.id ?? '', '--reason', 'ok');
    expect(voted).toContain('(approved)');
    const result = (await held) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(text(result)).toContain('wire 10 EUR');
    expect(JSON.parse(reins('approvals', 'show', request?.id ?? '', '--format', 'json')).status).toBe('used');
  }, 60_000);

  it('a session killed by another process refuses its held and later calls', async () => {
    const held = client.callTool({ name: 'everything__echo', arguments: { message: 'again' } }, undefined, {
      timeout: 60_000,
    });
    const [request] = await waitForPending();
    reinsAs(annToken, 'sessions', 'kill', request?.sessionId ?? '', '--reason', 'runaway');
    const result = (await held) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/killed/);
    const next = (await client.callTool({
      name: 'everything__echo',
      arguments: { message: 'more' },
    })) as CallToolResult;
    expect(next.isError).toBe(true);
    expect(text(next)).toMatch(/killed/);
    const lines = reins('audit', 'query', '--kind', 'operator-action', '--format', 'json').trim().split('\n');
    const audit = lines.map(
      (line) => JSON.parse(line) as { event: { action: string; actor: { id: string } } },
    );
    expect(audit.map(({ event }) => `${event.actor.id} ${event.action}`).slice(-2)).toEqual([
      'ann approval.approve',
      'ann session.kill',
    ]);
  }, 60_000);
});
