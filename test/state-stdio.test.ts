/**
 * @module test/state-stdio.test
 * The limits of issue 14 over stdio as well: two `reins mcp` processes (two desktop clients of one
 * agent, each with its own upstream) on one SQLite file share one per-agent budget. The official SDK
 * client over stdio, the real server-everything behind each; concurrent calls from both never exceed
 * the budget, and reach it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { REINS_BIN } from './support/deployment-fixture.js';
import { reinsAs } from './support/reins-cli.js';
import { textOf } from './support/tool-result-text.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const BUDGET = 12;
const directory = mkdtempSync(join(tmpdir(), 'reins-state-stdio-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('a per-agent limit over stdio, across two processes', () => {
  it('is reached and never exceeded when two reins mcp processes call at once', async () => {
    const db = join(directory, 'reins.db');
    const policy = join(directory, 'policy.yaml');
    writeFileSync(
      policy,
      `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stdio-limits }
tools:
  - { server: everything, name: "*", risk: low, effects: [read] }
rules:
  - { id: everything, effect: allow, tool: { server: everything }, reason: test server }
limits:
  - { id: echoes, tool: { server: everything, name: echo }, per: [agent], window: 1d, max: ${BUDGET}, reason: echoes a day }
`,
    );
    reinsAs(
      '',
      db,
      directory,
      'agents',
      'create',
      'desk',
      '--owner',
      'desk@example.com',
      '--scopes',
      'everything/*',
    );
    const clients: Client[] = [];
    for (let index = 0; index < 2; index++) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [
          REINS_BIN,
          'mcp',
          ...['--agent', 'desk', '--policy', policy, '--db', db, '--name', 'everything'],
          ...['--lock', join(directory, `reins-${index}.lock`)],
          '--',
          process.execPath,
          EVERYTHING,
        ],
        cwd: directory,
        env: { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '' },
        stderr: 'pipe',
      });
      const client = new Client({ name: `desk-${index}`, version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
    }
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const client = clients[index % 2] as Client;
        const result = (await client.callTool({
          name: 'everything__echo',
          arguments: { message: `call ${index}` },
        })) as CallToolResult;
        const text = textOf(result);
        return result.isError ? (text.includes('echoes') ? 'limit' : `other: ${text}`) : 'ran';
      }),
    );
    for (const client of clients) await client.close();
    expect(outcomes.filter((outcome) => outcome === 'ran')).toHaveLength(BUDGET);
    expect(outcomes.filter((outcome) => outcome === 'limit')).toHaveLength(30 - BUDGET);
  }, 60_000);
});
