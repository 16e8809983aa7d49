/**
 * @module test/gateway-tenant-isolation.test
 * Tenant isolation end to end over stdio: the official MCP SDK client talks to `reins mcp` (the built
 * bin) in front of the real `@modelcontextprotocol/server-filesystem`. Each client has a directory;
 * what the agent read from one client's files may not be written into another client's directory.
 * The agent may read both (it serves both), and may write each client's own figures to that client.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { textOf as text } from './support/tool-result-text.js';

const ROOT = resolve(import.meta.dirname, '..');
const FILESYSTEM_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-filesystem/dist/index.js',
);

let directory: string;
let clients: string;
let client: Client;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-tenant-'));
  mkdirSync(join(directory, 'clients', 'acme'), { recursive: true });
  mkdirSync(join(directory, 'clients', 'globex'), { recursive: true });
  clients = realpathSync(join(directory, 'clients'));
  writeFileSync(
    join(clients, 'acme', 'terms.txt'),
    'Acme terms: day rate EUR 1,380, volume discount 17.5%\n',
  );
  writeFileSync(
    join(clients, 'globex', 'brief.txt'),
    'Globex brief: payments security review, budget EUR 240,000\n',
  );
  const db = join(directory, 'reins.db');
  const policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: tenants }
tools:
  - server: fs
    name: read_text_file
    risk: low
    effects: [read]
    output: { tenant: { arg: path, pattern: "/clients/([^/]+)/" } }
  - server: fs
    name: write_file
    risk: high
    effects: [write]
    sink: { tenant: { arg: path, pattern: "/clients/([^/]+)/" } }
  - { server: fs, name: "*", risk: medium, effects: [read] }
rules:
  - { id: reads, effect: allow, tool: { name: read_text_file }, reason: the agent serves every client }
  - { id: writes, effect: allow, tool: { name: write_file }, reason: the agent writes proposals }
flows:
  - id: client-data-stays-with-its-client
    check: tenant
    tool: { name: write_file }
    reason: one client's data may not be written to another client
`,
  );
  const created = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'agents',
      'create',
      'proposal-writer',
      '--owner',
      'sam@example.com',
      '--scopes',
      'fs/*',
      '--db',
      db,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  if (created.status !== 0) throw new Error(created.stderr);
  client = await connectThroughReins({
    agent: 'proposal-writer',
    policy,
    db,
    lock: join(directory, 'reins.lock'),
    name: 'fs',
    upstream: [FILESYSTEM_SERVER, clients],
    clientName: 'tenant-test',
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
});

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name: `fs__${name}`, arguments: args })) as CallToolResult;
}

describe('tenant isolation through the gateway', () => {
  it("refuses to write one client's figures into another client's directory, and allows each its own", async () => {
    expect(text(await call('read_text_file', { path: join(clients, 'acme', 'terms.txt') }))).toContain(
      '1,380',
    );
    expect(text(await call('read_text_file', { path: join(clients, 'globex', 'brief.txt') }))).toContain(
      '240,000',
    );

    const leak = await call('write_file', {
      path: join(clients, 'globex', 'proposal.txt'),
      content: 'For the payments review we propose EUR 1,380 a day with a 17.5% discount.',
    });
    expect(leak.isError).toBe(true);
    expect(text(leak)).toMatch(
      /Reins refused this call: one client's data may not be written to another client/,
    );
    expect(text(leak)).toContain('tenant `acme`');
    expect(existsSync(join(clients, 'globex', 'proposal.txt'))).toBe(false);

    const own = await call('write_file', {
      path: join(clients, 'globex', 'proposal.txt'),
      content: 'For the payments security review, within your budget of EUR 240,000.',
    });
    expect(own.isError).toBeFalsy();
    expect(existsSync(join(clients, 'globex', 'proposal.txt'))).toBe(true);

    const acmeOwn = await call('write_file', {
      path: join(clients, 'acme', 'renewal.txt'),
      content: 'Renewal at EUR 1,380 a day, 17.5% discount as before.',
    });
    expect(acmeOwn.isError).toBeFalsy();
  });
});
