/**
 * @module test/gateway-resources.test
 * Resources and prompts through the gateway, with the real server-everything over stdio: denied (and
 * hidden) by default, allowed where the policy's catalogue and rules say so, and read through the same
 * pipeline as tool calls (decided and recorded).
 */
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../src/gateway/gateway.js';
import { Upstream } from '../src/gateway/upstream.js';
import { Harness } from '../src/harness/harness.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { policyFrom } from './support/policy-fixtures.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
let upstream: Upstream;
let gateway: Gateway;
let audit: SqliteAuditLog;
const clients: Client[] = [];

beforeAll(async () => {
  upstream = new Upstream(
    { name: 'everything', stdio: { command: process.execPath, args: [EVERYTHING, 'stdio'], env: {} } },
    { callTimeoutMs: 5_000 },
  );
  await upstream.connect();
  audit = new SqliteAuditLog({ path: ':memory:' });
  const policy = {
    current: policyFrom(
      `rules:
  - { id: reader-reads-resources, effect: allow, principal: { agents: reader }, tool: { name: "resource:*" }, reason: the reader reads resources }
  - { id: reader-uses-simple-prompt, effect: allow, principal: { agents: reader }, tool: { name: "prompt:simple-prompt" }, reason: one prompt is fine }`,
      {
        catalogue: `tools:
  - { server: everything, name: "resource:*", risk: low, effects: [read], untrustedOutput: true }
  - { server: everything, name: "prompt:*", risk: low, effects: [read] }
  - { server: everything, name: "*", risk: medium, effects: [external] }`,
      },
    ),
  };
  gateway = new Gateway({ upstreams: [upstream], harness: new Harness({ policy, audit }), policy });
}, 30_000);

afterAll(async () => {
  for (const client of clients) await client.close();
  await upstream.close();
  await audit.close();
});

async function connect(agentId: string): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await gateway
    .createServer({
      principal: { agentId, roles: [], delegatedBy: [], parentSessions: [] },
      sessionId: `${agentId}-session`,
    })
    .connect(serverSide);
  const client = new Client({ name: 'resources-test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return client;
}

describe('resources and prompts through the gateway', () => {
  it('are hidden and refused by default', async () => {
    const stranger = await connect('stranger');
    expect((await stranger.listResources()).resources).toEqual([]);
    expect((await stranger.listPrompts()).prompts).toEqual([]);
    const operator = { signal: new AbortController().signal, session: undefined };
    const [uri] = (await upstream.listResources(operator)).map((resource) => resource.uri);
    await expect(stranger.readResource({ uri: uri as string })).rejects.toThrow(/Reins refused this read/);
    await expect(stranger.getPrompt({ name: 'everything__simple-prompt' })).rejects.toThrow(
      /Reins refused this prompt/,
    );
  });

  it('are listed and served where the policy allows them, and recorded like calls', async () => {
    const reader = await connect('reader');
    const resources = (await reader.listResources()).resources;
    expect(resources.length).toBeGreaterThan(0);
    const contents = await reader.readResource({ uri: resources[0]?.uri as string });
    expect(contents.contents.length).toBeGreaterThan(0);
    expect((await reader.listPrompts()).prompts.map((prompt) => prompt.name)).toEqual([
      'everything__simple-prompt',
    ]);
    const prompt = await reader.getPrompt({ name: 'everything__simple-prompt' });
    expect(prompt.messages.length).toBeGreaterThan(0);
    await expect(
      reader.getPrompt({ name: 'everything__args-prompt', arguments: { city: 'x' } }),
    ).rejects.toThrow(/refused/);
    const intents = await audit.query({ agentId: 'reader', kind: 'call-intent' });
    expect(intents.map((record) => record.event.kind === 'call-intent' && record.event.tool.name)).toContain(
      `resource:${resources[0]?.uri}`,
    );
  });
});
