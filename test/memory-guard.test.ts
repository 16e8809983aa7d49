/**
 * @module test/memory-guard.test
 * The memory guard as a library, against the real `@modelcontextprotocol/server-memory` (SDK client
 * over stdio) and the SQLite label index: sharing by owner, retention on a moved clock, purge by
 * tenant, age and pattern, entries written around Reins stay invisible, and refusals.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MemoryGuard,
  type MemoryGuardSettings,
  readerOf,
  type SendTool,
} from '../src/memory/memory-guard.js';
import type { Principal } from '../src/spec/tool-call.js';
import { SqliteMemoryLabelIndex } from '../src/store/sqlite/sqlite-memory-labels.js';

const MEMORY_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-memory/dist/index.js',
);
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T09:00:00Z');

const ana: Principal = {
  agentId: 'ana-agent',
  roles: ['tenant:acme'],
  owner: 'ana@acme.example',
  delegatedBy: [],
  parentSessions: [],
};
const carl: Principal = {
  agentId: 'carl-agent',
  roles: ['tenant:acme'],
  owner: 'carl@acme.example',
  delegatedBy: [],
  parentSessions: [],
};
const bob: Principal = {
  agentId: 'bob-agent',
  roles: ['tenant:globex'],
  owner: 'bob@globex.example',
  delegatedBy: [],
  parentSessions: [],
};

let directory: string;
let client: Client;
let index: SqliteMemoryLabelIndex;
let now: number;
let guard: MemoryGuard;
let send: SendTool;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-memory-guard-'));
  // one entry written around Reins (no label): it must never be shown
  writeFileSync(
    join(directory, 'memory.jsonl'),
    `${JSON.stringify({ type: 'entity', name: 'acme/legacy', entityType: 'note', observations: ['written directly'] })}\n`,
  );
  client = new Client({ name: 'memory-guard-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [MEMORY_SERVER],
      env: { ...(process.env as Record<string, string>), MEMORY_FILE_PATH: join(directory, 'memory.jsonl') },
      stderr: 'pipe',
    }),
  );
  index = new SqliteMemoryLabelIndex(join(directory, 'labels.db'));
  now = T0;
  guard = new MemoryGuard(index, () => now);
  send = (name, args) => client.callTool({ name, arguments: args });
}, 30_000);

afterEach(async () => {
  await client.close();
  await index.close();
  rmSync(directory, { recursive: true, force: true });
});

async function write(
  principal: Principal,
  name: string,
  observations: string[],
  settings: MemoryGuardSettings,
) {
  await guard.call(
    principal,
    settings,
    'create_entities',
    { entities: [{ name, entityType: 'note', observations }] },
    send,
  );
}

async function names(principal: Principal, settings: MemoryGuardSettings): Promise<string[]> {
  const result = (await guard.call(principal, settings, 'read_graph', {}, send)) as {
    structuredContent: { entities: { name: string; observations: string[] }[] };
  };
  return result.structuredContent.entities.map(
    (entity) => `${entity.name}: ${entity.observations.join(' | ')}`,
  );
}

async function serverNames(): Promise<string[]> {
  const result = (await send('read_graph', {})) as { structuredContent: { entities: { name: string }[] } };
  return result.structuredContent.entities.map((entity) => entity.name).sort();
}

describe('memory guard (library) with the real server-memory', () => {
  it('shares by tenant or by owner as configured, and never shows unlabelled entries', async () => {
    const tenant: MemoryGuardSettings = { share: 'tenant' };
    const owner: MemoryGuardSettings = { share: 'owner' };
    await write(ana, 'deploy', ['use the ci-prod pipeline'], tenant);
    expect(await names(carl, tenant)).toEqual(['deploy: use the ci-prod pipeline']);
    expect(await names(carl, owner)).toEqual([]);
    expect(await names(ana, owner)).toEqual(['deploy: use the ci-prod pipeline']);
    expect(await names(bob, tenant)).toEqual([]);
    expect(await serverNames()).toEqual(['acme/deploy', 'acme/legacy']);
  });

  it('stops returning entries past the retention, and purges them by age', async () => {
    const settings: MemoryGuardSettings = { share: 'tenant', retention: 30 * DAY };
    await write(ana, 'old-incident', ['db failover drill'], settings);
    now = T0 + 20 * DAY;
    await write(ana, 'new-incident', ['cache stampede'], settings);
    now = T0 + 40 * DAY; // six weeks after the first write
    expect(await names(carl, settings)).toEqual(['new-incident: cache stampede']);
    const purged = await guard.purge({ before: now - 30 * DAY }, send);
    expect(purged).toEqual({ entities: 1, observations: 0 });
    expect(await serverNames()).toEqual(['acme/legacy', 'acme/new-incident']);
  });

  it('purges by tenant and by pattern, and refuses a purge without criteria', async () => {
    const settings: MemoryGuardSettings = { share: 'tenant' };
    await write(ana, 'deploy', ['staging password rotated', 'pipeline is ci-prod'], settings);
    await write(bob, 'deploy', ['globex deploys on fridays'], settings);
    expect(await guard.purge({ pattern: 'PASSWORD' }, send)).toEqual({ entities: 0, observations: 1 });
    expect(await names(ana, settings)).toEqual(['deploy: pipeline is ci-prod']);
    expect(await guard.purge({ tenant: 'globex' }, send)).toEqual({ entities: 1, observations: 0 });
    expect(await serverNames()).toEqual(['acme/deploy', 'acme/legacy']);
    await expect(guard.purge({}, send)).rejects.toThrow(/at least one criterion/);
  });

  it('refuses unknown tools, ambiguous tenants and malformed arguments', async () => {
    const settings: MemoryGuardSettings = { share: 'tenant' };
    await expect(guard.call(ana, settings, 'drop_everything', {}, send)).rejects.toThrow(
      /does not know the tool/,
    );
    const twoTenants: Principal = { ...ana, roles: ['tenant:acme', 'tenant:globex'] };
    await expect(guard.call(twoTenants, settings, 'read_graph', {}, send)).rejects.toThrow(
      /several tenant roles/,
    );
    await expect(guard.call(ana, settings, 'create_entities', { entities: 'x' }, send)).rejects.toThrow(
      /expected shape/,
    );
  });

  it('derives a tenant from the owner or the agent when no tenant role is given', () => {
    expect(
      readerOf({ agentId: 'a', roles: [], owner: 'o@x.example', delegatedBy: [], parentSessions: [] }).tenant,
    ).toBe('owner:o@x.example');
    expect(readerOf({ agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] }).tenant).toBe('agent:a');
    expect(() =>
      readerOf({ agentId: 'a', roles: ['tenant:a/b'], delegatedBy: [], parentSessions: [] }),
    ).toThrow(/not a valid tenant/);
  });
});
