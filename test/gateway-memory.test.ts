/**
 * @module test/gateway-memory.test
 * Memory hygiene end to end: three agents, each its own `reins mcp` process (the built bin), in front
 * of one real `@modelcontextprotocol/server-memory` store (one MEMORY_FILE_PATH). Ana and Carl are in
 * tenant `acme`, Bob in `globex`. A pasted key never reaches the memory file; Bob never sees, opens,
 * finds, changes or deletes acme's entries; Carl (same tenant) reads them, key redacted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectThroughReins } from './support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '..');
const MEMORY_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-memory/dist/index.js',
);
const KEY = 'AKIAIOSFODNN7EXAMPLE';

let directory: string;
let memoryFile: string;
const clients = new Map<string, Client>();

function reins(...args: string[]): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '' },
  });
  if (result.status !== 0) throw new Error(`reins ${args.join(' ')} failed: ${result.stderr}`);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-memory-'));
  memoryFile = join(directory, 'memory.jsonl');
  const policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: memory }
tools:
  - { server: memory, name: "*", risk: medium, effects: [read, write] }
rules:
  - { id: developers-use-memory, effect: allow, principal: { roles: developer }, tool: { server: memory }, reason: team memory }
memory:
  servers: memory
  secrets: redact
  share: tenant
  retention: 90d
`,
  );
  const db = join(directory, 'reins.db');
  const agents = [
    ['ana', 'ana@acme.example', 'developer,tenant:acme'],
    ['carl', 'carl@acme.example', 'developer,tenant:acme'],
    ['bob', 'bob@globex.example', 'developer,tenant:globex'],
  ] as const;
  for (const [id, owner, roles] of agents) {
    reins('agents', 'create', id, '--owner', owner, '--roles', roles, '--scopes', 'memory/*', '--db', db);
  }
  for (const [id] of agents) {
    const client = await connectThroughReins({
      agent: id,
      policy,
      db,
      lock: join(directory, 'reins.lock'),
      name: 'memory',
      upstream: [MEMORY_SERVER],
      clientName: `memory-test-${id}`,
      // the upstream gets none of reins' environment unless it is passed on by name
      env: { MEMORY_FILE_PATH: memoryFile },
      reinsArgs: ['--env', 'MEMORY_FILE_PATH'],
    });
    clients.set(id, client);
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) await client.close();
  rmSync(directory, { recursive: true, force: true });
});

async function call(agent: string, tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  const client = clients.get(agent);
  if (client === undefined) throw new Error(`no client ${agent}`);
  return (await client.callTool({ name: `memory__${tool}`, arguments: args })) as CallToolResult;
}

function graph(result: CallToolResult): {
  entities: { name: string; observations: string[] }[];
  relations: unknown[];
} {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  const part = result.content[0];
  return JSON.parse(part?.type === 'text' ? part.text : '{}');
}

describe('memory guard through the gateway in front of server-memory', () => {
  it('stores a pasted key only as a placeholder, under the writer tenant', async () => {
    const created = await call('ana', 'create_entities', {
      entities: [
        {
          name: 'deploy',
          entityType: 'runbook',
          observations: [`prod deploy uses AWS key ${KEY}`, 'deploys run from the ci-prod pipeline'],
        },
      ],
    });
    expect(graph(created).entities).toEqual([
      {
        name: 'deploy',
        entityType: 'runbook',
        observations: [
          'prod deploy uses AWS key [REDACTED:aws_access_key]',
          'deploys run from the ci-prod pipeline',
        ],
      },
    ]);
    const stored = readFileSync(memoryFile, 'utf8');
    expect(stored).not.toContain(KEY);
    expect(stored).toContain('"name":"acme/deploy"');
    expect(stored).toContain('[REDACTED:aws_access_key]');
  });

  it('never shows tenant acme entries to tenant globex, however asked', async () => {
    expect(graph(await call('bob', 'read_graph', {})).entities).toEqual([]);
    expect(graph(await call('bob', 'search_nodes', { query: 'deploy' })).entities).toEqual([]);
    expect(graph(await call('bob', 'search_nodes', { query: 'acme/' })).entities).toEqual([]);
    expect(
      graph(await call('bob', 'open_nodes', { names: ['deploy', 'acme/deploy', '../acme/deploy'] })).entities,
    ).toEqual([]);
    const added = await call('bob', 'add_observations', {
      observations: [{ entityName: 'deploy', contents: ['globex was here'] }],
    });
    expect(added.isError).toBe(true);
    await call('bob', 'delete_entities', { entityNames: ['deploy'] });
    expect(readFileSync(memoryFile, 'utf8')).not.toContain('globex was here');
    // the same name in another tenant is another entry
    await call('bob', 'create_entities', {
      entities: [{ name: 'deploy', entityType: 'runbook', observations: ['globex deploys on fridays'] }],
    });
    expect(graph(await call('bob', 'read_graph', {})).entities.map((entity) => entity.observations)).toEqual([
      ['globex deploys on fridays'],
    ]);
  });

  it('lets a colleague in the same tenant read the entry, with the key still redacted', async () => {
    const found = graph(await call('carl', 'search_nodes', { query: 'deploy' }));
    expect(found.entities).toEqual([
      {
        name: 'deploy',
        entityType: 'runbook',
        observations: [
          'prod deploy uses AWS key [REDACTED:aws_access_key]',
          'deploys run from the ci-prod pipeline',
        ],
      },
    ]);
    expect(JSON.stringify(graph(await call('ana', 'read_graph', {})))).not.toContain('globex');
  });

  it('redacts a key added later as an observation, and relations stay within the tenant', async () => {
    await call('carl', 'add_observations', {
      observations: [
        { entityName: 'deploy', contents: [`rotated key: ${KEY.replace('EXAMPLE', 'EXAMPLF')}`] },
      ],
    });
    expect(readFileSync(memoryFile, 'utf8')).not.toMatch(/AKIAIOSFODNN7EXAMP/);
    await call('ana', 'create_entities', {
      entities: [{ name: 'ci-prod', entityType: 'pipeline', observations: [] }],
    });
    const related = await call('ana', 'create_relations', {
      relations: [{ from: 'deploy', to: 'ci-prod', relationType: 'runs on' }],
    });
    expect(related.isError).toBeFalsy();
    expect(graph(await call('carl', 'open_nodes', { names: ['deploy'] })).relations).toEqual([
      { from: 'deploy', to: 'ci-prod', relationType: 'runs on' },
    ]);
    const cross = await call('bob', 'create_relations', {
      relations: [{ from: 'deploy', to: 'ci-prod', relationType: 'steals' }],
    });
    expect(cross.isError).toBe(true);
  });
});
