/**
 * @module test/security/upstream-stderr-flood.test
 * Found while reviewing what carries upstream bytes (issue 11): the gateway pipes a stdio upstream's
 * standard error and never reads it, so an upstream that writes more than a pipe holds blocks on its
 * next write and every later call times out: any upstream (or anything an upstream logs) could stall
 * it. The official SDK client through `reins mcp` in front of test/support/flaky-server.ts, whose
 * `shout` tool writes a megabyte to stderr before it answers, twice.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectThroughReins } from '../support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '../..');
let directory: string;
let client: Client;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-stderr-flood-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stderr-flood }
tools:
  - { server: flaky, name: "*", risk: low, effects: [read] }
rules:
  - { id: all, effect: allow, tool: { server: flaky }, reason: this test is about the upstream's stderr }
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
      'flaky/*',
      '--db',
      db,
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  if (created.status !== 0) throw new Error(created.stderr);
  client = await connectThroughReins({
    agent: 'dev',
    policy: join(directory, 'policy.yaml'),
    db,
    lock: join(directory, 'reins.lock'),
    name: 'flaky',
    upstream: ['--import', 'tsx', resolve(ROOT, 'test/support/flaky-server.ts')],
    clientName: 'stderr-flood-test',
  });
}, 30_000);

afterAll(async () => {
  await client?.close();
  rmSync(directory, { recursive: true, force: true });
});

it('keeps serving an upstream that writes megabytes to its standard error', async () => {
  for (let round = 0; round < 2; round++) {
    const result = (await client.callTool({ name: 'flaky__shout', arguments: {} })) as CallToolResult;
    expect(result.content).toEqual([{ type: 'text', text: 'shouted' }]);
  }
}, 30_000);
