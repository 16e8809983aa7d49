/**
 * @module test/gateway-redaction.test
 * End to end over stdio: the official MCP SDK client talks to `reins mcp` (the built bin) in front of
 * the real `@modelcontextprotocol/server-filesystem`. A file holding an AWS key and a customer e-mail is
 * read: the agent sees typed placeholders; a file holding an IBAN, which the policy blocks, is withheld.
 * A write carrying a key is refused before it reaches the server. The audit database file never
 * contains the key.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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
const KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

let directory: string;
let work: string;
let client: Client;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-redaction-'));
  mkdirSync(join(directory, 'work'));
  work = realpathSync(join(directory, 'work'));
  writeFileSync(
    join(work, 'deploy.env'),
    `# production\nAWS_ACCESS_KEY_ID=${KEY}\naws_secret_access_key = ${SECRET}\nONCALL=ops@example.com\n`,
  );
  writeFileSync(join(work, 'payout.txt'), 'pay the supplier at DE89 3704 0044 0532 0130 00 by friday\n');
  const policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: redaction }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "write_file", risk: high, effects: [write] }
rules:
  - { id: reads, effect: allow, tool: { effects: read }, reason: reading is fine }
  - { id: writes, effect: allow, tool: { name: write_file }, reason: writing is fine }
redaction:
  outputs: { secret: redact, email: redact, iban: block }
  inputs: { secret: block }
`,
  );
  const db = join(directory, 'reins.db');
  const created = spawnSync(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'agents',
      'create',
      'dev',
      '--owner',
      'ana@example.com',
      '--scopes',
      'fs/*',
      '--db',
      db,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  if (created.status !== 0) throw new Error(created.stderr);
  client = await connectThroughReins({
    agent: 'dev',
    policy,
    db,
    lock: join(directory, 'reins.lock'),
    name: 'fs',
    upstream: [FILESYSTEM_SERVER, work],
    clientName: 'redaction-test',
  });
}, 30_000);

afterAll(async () => {
  await client?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('redaction through the gateway in front of server-filesystem', () => {
  it('shows the agent placeholders instead of the keys and the address in a file it reads', async () => {
    const read = (await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(work, 'deploy.env') },
    })) as CallToolResult;
    expect(read.isError).toBeFalsy();
    expect(text(read)).toBe(
      '# production\nAWS_ACCESS_KEY_ID=[REDACTED:aws_access_key]\naws_secret_access_key = [REDACTED:aws_secret_key]\nONCALL=[REDACTED:email]\n',
    );
  });

  it('withholds a whole result holding a kind of data the policy blocks, without repeating it', async () => {
    const read = (await client.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(work, 'payout.txt') },
    })) as CallToolResult;
    expect(read.isError).toBe(true);
    expect(text(read)).toMatch(/^output withheld: the result contains iban at `content\[0\]\.text`/);
    expect(text(read)).not.toContain('DE89');
  });

  it('refuses a write carrying a key before it reaches the server, naming the detector only', async () => {
    const target = join(work, 'leak.txt');
    const write = (await client.callTool({
      name: 'fs__write_file',
      arguments: { path: target, content: `key=${KEY}` },
    })) as CallToolResult;
    expect(write.isError).toBe(true);
    expect(text(write)).toBe(
      'Reins refused this call: argument `content` contains aws_access_key (secret): blocked by the redaction policy',
    );
    expect(existsSync(target)).toBe(false);
  });

  it('never stores the raw key in the audit database', async () => {
    await client.close();
    const bytes = Buffer.concat(
      ['reins.db', 'reins.db-wal']
        .map((name) => join(directory, name))
        .filter((path) => existsSync(path))
        .map((path) => readFileSync(path)),
    );
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(KEY)).toBe(false);
    expect(bytes.includes(SECRET)).toBe(false);
    expect(bytes.includes('[REDACTED:aws_access_key]')).toBe(true);
  });
});
