/**
 * @module test/gateway-filesystem.test
 * End to end over stdio: the official MCP SDK client launches `reins mcp` (the built bin) in front of
 * the real `@modelcontextprotocol/server-filesystem` from npm. A read-only agent sees and uses only
 * read tools and cannot write; a writer may write only inside `drafts/`, and a write elsewhere is
 * refused before it reaches the server.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { textOf as text } from './support/tool-result-text.js';

const ROOT = resolve(import.meta.dirname, '..');
const FILESYSTEM_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-filesystem/dist/index.js',
);

let directory: string;
let work: string;
let db: string;
let policy: string;
const clients: Client[] = [];

function reins(...args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '' },
  });
  if (result.status !== 0) throw new Error(`reins ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-fs-'));
  mkdirSync(join(directory, 'work'));
  // the filesystem server resolves real paths (tmpdir may be a symlink): policies must name the same ones
  work = realpathSync(join(directory, 'work'));
  mkdirSync(join(work, 'drafts'));
  writeFileSync(join(work, 'notes.txt'), 'quarterly numbers are in the vault\n');
  db = join(directory, 'reins.db');
  policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: filesystem }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "list_*", risk: low, effects: [read] }
  - { server: fs, name: "*", risk: high, effects: [write] }
rules:
  - id: everyone-reads
    effect: allow
    tool: { effects: read }
    reason: reading the work directory is fine
  - id: writer-writes-drafts
    effect: allow
    principal: { agents: fs-writer }
    tool: { name: write_file }
    when: 'args.path.startsWith("${work}/drafts/")'
    reason: the writer may write drafts
`,
  );
  reins('agents', 'create', 'fs-reader', '--owner', 'ana@example.com', '--scopes', 'fs/*', '--db', db);
  reins('agents', 'create', 'fs-writer', '--owner', 'wes@example.com', '--scopes', 'fs/*', '--db', db);
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function connect(agent: string): Promise<Client> {
  const client = await connectThroughReins({
    agent,
    policy,
    db,
    lock: join(directory, 'reins.lock'),
    name: 'fs',
    upstream: [FILESYSTEM_SERVER, work],
    clientName: 'gateway-test',
  });
  clients.push(client);
  return client;
}

describe('gateway over stdio in front of server-filesystem', () => {
  it('shows a read-only agent only the read tools, serves reads and refuses writes', async () => {
    const client = await connect('fs-reader');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('fs__read_text_file');
    expect(names).toContain('fs__list_directory');
    expect(names).not.toContain('fs__write_file');
    expect(names.every((name) => name.startsWith('fs__read_') || name.startsWith('fs__list_'))).toBe(true);

    const read = (await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(work, 'notes.txt') },
    })) as CallToolResult;
    expect(read.isError).toBeFalsy();
    expect(text(read)).toContain('quarterly numbers');

    // the tool is hidden, but a client may still try it: refused, nothing written
    const write = (await client.callTool({
      name: 'fs__write_file',
      arguments: { path: join(work, 'drafts', 'x.txt'), content: 'x' },
    })) as CallToolResult;
    expect(write.isError).toBe(true);
    expect(text(write)).toMatch(
      /^Reins refused this call: no rule allows `fs\/write_file` for agent `fs-reader`/,
    );
    expect(existsSync(join(work, 'drafts', 'x.txt'))).toBe(false);

    const unknown = (await client.callTool({ name: 'nonsense', arguments: {} })) as CallToolResult;
    expect(unknown).toMatchObject({ isError: true });
  });

  it('lets the writer write drafts, and refuses a write elsewhere before it reaches the server', async () => {
    const client = await connect('fs-writer');
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('fs__write_file');

    const draft = (await client.callTool({
      name: 'fs__write_file',
      arguments: { path: join(work, 'drafts', 'reply.txt'), content: 'thanks!' },
    })) as CallToolResult;
    expect(draft.isError).toBeFalsy();
    expect(existsSync(join(work, 'drafts', 'reply.txt'))).toBe(true);

    const outside = (await client.callTool({
      name: 'fs__write_file',
      arguments: { path: join(work, 'notes.txt'), content: 'overwritten' },
    })) as CallToolResult;
    expect(outside.isError).toBe(true);
    expect(text(outside)).toContain('Reins refused this call');
    const read = (await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(work, 'notes.txt') },
    })) as CallToolResult;
    expect(text(read)).toContain('quarterly numbers');

    // the audit log has the refused attempt, and it never ran
    await client.close();
    clients.splice(clients.indexOf(client), 1);
    const audit = new SqliteAuditLog({ path: db, readOnly: true });
    const refused = await audit.query({ agentId: 'fs-writer', tool: 'fs/write_file', effect: 'denied' });
    await audit.close();
    expect(refused).toHaveLength(1);
  });

  it('records an error result of the upstream as an error, and the agent still sees it', async () => {
    const client = await connect('fs-reader');
    const missing = (await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(work, 'no-such-file.txt') },
    })) as CallToolResult;
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/ENOENT|no such file/i);
    await client.close();
    clients.splice(clients.indexOf(client), 1);
    // what an operator looking for failures would run
    const failures = reins(
      'audit',
      'query',
      '--effect',
      'error',
      '--agent',
      'fs-reader',
      '--format',
      'json',
      '--db',
      db,
    )
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { event: { args?: unknown; error?: string; result?: unknown } });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.event.error).toMatch(/ENOENT|no such file/i);
    expect(failures[0]?.event.result).toMatchObject({ isError: true });
  });

  it('refuses to start for an agent nobody registered', () => {
    const result = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'mcp',
        '--agent',
        'ghost',
        '--policy',
        policy,
        '--db',
        db,
        '--',
        process.execPath,
        FILESYSTEM_SERVER,
        work,
      ],
      { cwd: ROOT, encoding: 'utf8', input: '', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown agent `ghost`: register it with `reins agents create`');
  });
});
