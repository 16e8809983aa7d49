/**
 * @module test/gateway-http.test
 * End to end over Streamable HTTP: `reins gateway` (in-process) fronts three real MCP servers from npm:
 * server-filesystem and server-memory over stdio, server-everything over Streamable HTTP. Clients are
 * the official SDK client with Reins credentials. Covers authentication (none, forged, revoked),
 * per-agent tool lists, calls through the pipeline, oversized and malformed messages.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CallToolResult,
  CallToolResultSchema,
  ErrorCode,
  type McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { runHttpGateway } from '../src/cli/gateway-command.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { connectHttp, connectHttpSession, sessionHeaders } from './support/http-gateway.js';
import { textOf as text } from './support/tool-result-text.js';

const require = createRequire(import.meta.url);
const server = (name: string) => require.resolve(`@modelcontextprotocol/${name}/dist/index.js`);

let directory: string;
let endpoint: string;
let everything: ChildProcess;
const stop = new AbortController();
let gatewayExit: Promise<number>;
let identity: SqliteIdentityStore;
let auth: Authenticator;
const tokens: Record<string, string> = {};
const errors: string[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-gateway-http-'));
  mkdirSync(join(directory, 'work'));
  const work = realpathSync(join(directory, 'work'));
  writeFileSync(join(work, 'plan.txt'), 'launch on monday\n');
  const everythingPort = await freePort();
  everything = spawn(process.execPath, [server('server-everything'), 'streamableHttp'], {
    env: { ...process.env, PORT: String(everythingPort) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server-everything did not start')), 20_000);
    everything.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: gateway-http }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "*", risk: high, effects: [write] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
  - { server: everything, name: "echo", risk: low, effects: [read] }
  - { server: everything, name: "get-sum", risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: read-files, effect: allow, tool: { server: fs, effects: read }, reason: reading is fine }
  - { id: notes, effect: allow, principal: { roles: [assistant] }, tool: { server: memory }, reason: assistants keep notes }
  - { id: echo-and-sum, effect: allow, tool: { server: everything, effects: read }, reason: harmless tools }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: fs
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(server('server-filesystem'))}, ${JSON.stringify(work)}] }
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(server('server-memory'))}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))} } }
  - name: everything
    http: { url: "http://127.0.0.1:${everythingPort}/mcp" }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { maxMessageBytes: 65536, callTimeout: 20s, approvalTimeout: 1s }
`,
  );
  identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  const registry = new AgentRegistry(identity);
  await registry.create({ id: 'assistant', owner: 'ana@example.com', roles: ['assistant'], scopes: ['*'] });
  await registry.create({
    id: 'reader',
    owner: 'rob@example.com',
    roles: ['reader'],
    scopes: ['fs/*', 'everything/*'],
  });
  // the deployment's default credential key directory, which the gateway below uses too
  const keyDirectory = join(directory, '.reins-keys', 'credentials');
  createKeyDirectory(keyDirectory);
  auth = await Authenticator.open({ store: identity, keys: directoryKeySource(keyDirectory) });
  tokens.assistant = (await auth.issue('assistant', { sessionId: 'assistant-session' })).token;
  tokens.reader = (await auth.issue('reader', { sessionId: 'reader-session' })).token;

  let announce: (line: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    announce = resolve;
  });
  gatewayExit = runHttpGateway(
    { config: join(directory, 'reins.yaml') },
    { out: (line) => announce(line), err: (line) => errors.push(line) },
    stop.signal,
  );
  const line = await Promise.race([
    listening,
    gatewayExit.then((code) => {
      throw new Error(`gateway exited ${code}: ${errors.join('\n')}`);
    }),
  ]);
  endpoint = (/listening on (\S+)/.exec(line) as RegExpExecArray)[1] as string;
}, 60_000);

afterAll(async () => {
  stop.abort();
  expect(await gatewayExit).toBe(0);
  auth.close();
  await identity.close();
  everything.kill();
});

describe('gateway over Streamable HTTP', () => {
  it('refuses requests without a credential or with a forged one, and records the forged one', async () => {
    const anonymous = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    const forged = `${(tokens.reader as string).slice(0, -4)}AAAA`;
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${forged}` },
      body: '{}',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'bad_signature' });
  });

  it('shows each agent only its tools and runs allowed calls on stdio and HTTP upstreams', async () => {
    const reader = await connectHttp(endpoint, tokens.reader as string);
    const readerTools = (await reader.listTools()).tools.map((tool) => tool.name);
    expect(readerTools).toContain('fs__read_text_file');
    expect(readerTools).toContain('everything__echo');
    expect(readerTools.some((name) => name.startsWith('memory__'))).toBe(false);
    expect(readerTools).not.toContain('fs__write_file');
    const echo = (await reader.callTool({
      name: 'everything__echo',
      arguments: { message: 'hello through reins' },
    })) as CallToolResult;
    expect(text(echo)).toContain('hello through reins');
    const file = (await reader.callTool({
      name: 'fs__read_text_file',
      arguments: { path: join(realpathSync(join(directory, 'work')), 'plan.txt') },
    })) as CallToolResult;
    expect(text(file)).toContain('launch on monday');
    // out of the reader's credential scope and not allowed: refused, with the reason
    const note = (await reader.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [] },
    })) as CallToolResult;
    expect(note.isError).toBe(true);
    expect(text(note)).toContain('Reins refused this call');
    await reader.close();

    const assistant = await connectHttp(endpoint, tokens.assistant as string);
    const created = (await assistant.callTool({
      name: 'memory__create_entities',
      arguments: { entities: [{ name: 'launch', entityType: 'event', observations: ['on monday'] }] },
    })) as CallToolResult;
    expect(created.isError).toBeFalsy();
    const graph = (await assistant.callTool({ name: 'memory__read_graph', arguments: {} })) as CallToolResult;
    expect(text(graph)).toContain('launch');
    await assistant.close();
  });

  it('answers oversized and malformed messages with clear errors and stays up', async () => {
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${tokens.reader}`,
    };
    const big = await fetch(endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ padding: 'x'.repeat(70_000) }),
    });
    expect(big.status).toBe(413);
    const malformed = await fetch(endpoint, {
      method: 'POST',
      headers,
      body: '{"jsonrpc": "2.0", "method": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const reader = await connectHttp(endpoint, tokens.reader as string);
    expect((await reader.listTools()).tools.length).toBeGreaterThan(0);
    await reader.close();
  });

  it('answers a body that is not JSON with 415, and bad call parameters with -32602 in plain words', async () => {
    const notJson = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${tokens.reader}`,
      },
      body: 'hello',
    });
    expect(notJson.status).toBe(415);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(
      /application\/json/,
    );

    const reader = await connectHttp(endpoint, tokens.reader as string);
    for (const params of [{ name: 42 }, { name: 'everything__echo', arguments: 'not an object' }, {}]) {
      const refused = await reader
        .request({ method: 'tools/call', params: params as never }, CallToolResultSchema)
        .then(
          () => undefined,
          (error: unknown) => error as McpError,
        );
      expect(refused?.code).toBe(ErrorCode.InvalidParams);
      // one line a person can act on, not a schema dump
      expect(refused?.message).toMatch(/tools\/call/);
      expect(refused?.message).not.toMatch(/[{}[\]]|\n/);
    }
    expect((await reader.listTools()).tools.length).toBeGreaterThan(0);
    await reader.close();
  });

  it('stays up when a call is cancelled in the same batch, or its client disconnects at once', async () => {
    const { client: reader, transport } = await connectHttpSession(endpoint, tokens.reader as string);
    const headers = sessionHeaders(tokens.reader as string, transport);
    const echo = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'everything__echo', arguments: { message: 'never mind' } },
    });
    const batch = await fetch(endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify([
        echo(101),
        {
          jsonrpc: '2.0',
          method: 'notifications/cancelled',
          params: { requestId: 101, reason: 'never mind' },
        },
      ]),
    });
    await batch.body?.cancel();
    for (let id = 102; id < 110; id++) {
      const hasty = new AbortController();
      const sent = fetch(endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify(echo(id)),
        signal: hasty.signal,
      });
      setTimeout(() => hasty.abort(), id - 102);
      await sent.then((response) => response.body?.cancel()).catch(() => {});
    }
    // still serving (an unhandled rejection would also fail this test run)
    await new Promise((done) => setTimeout(done, 200));
    expect(
      (await reader.callTool({ name: 'everything__echo', arguments: { message: 'still here' } })).isError,
    ).toBeFalsy();
    await reader.close();
  });

  it('stops a revoked credential on its next request', async () => {
    const { token, claims } = await auth.issue('reader', { sessionId: 'short-lived' });
    const client = await connectHttp(endpoint, token);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await auth.revoke('token', claims.jti, { by: 'sec@example.com', reason: 'test' });
    // the gateway's authenticator hears of it through the store (SQLite: polled every 50 ms)
    await eventually(() => expect(client.listTools()).rejects.toThrow());
    const audit = new SqliteAuditLog({ path: join(directory, 'reins.db'), readOnly: true });
    const rejected = await audit.query({ kind: 'credential-rejected' });
    await audit.close();
    expect(
      rejected.some(
        (record) => record.event.kind === 'credential-rejected' && record.event.code === 'revoked',
      ),
    ).toBe(true);
  });
});
