/**
 * @module test/gateway-http-transport.test
 * Issue 20: how `reins gateway` talks Streamable HTTP at both ends. Downstream, a call decided at once
 * is answered with a plain JSON body; an event stream is opened only when something must go out before
 * the answer (a held call's progress), and a held call still ends when its client goes away, or when its
 * session is closed (decision 0018). Upstream, calls to an HTTP upstream reuse their connections. End to
 * end: the official SDK client (and raw HTTP where the wire itself is the point) against the gateway
 * in this process, in front of an upstream that is the SDK's own Streamable HTTP server, which counts
 * the connections it is given.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually, present } from './support/eventually.js';
import { type RunningGateway, sessionHeaders, startHttpGateway, textOf } from './support/http-gateway.js';
import { credentialKeysBeside } from './support/test-keys.js';

const WAITING = 'waiting for human approval';

let directory: string;
let gateway: RunningGateway;
let upstream: { http: HttpServer; url: string; connections: () => number };
const clients: Client[] = [];

/**
 * An upstream as the SDK builds one: its tools answer at once (`write` is held by the policy); `grow`
 * adds the tool `extra` and says so (`tools/list_changed`, on the session's standalone stream). A call
 * of `boom` is answered HTTP 500 with internal detail, before the SDK sees it (a proxy in front of it
 * failing, say).
 */
async function startUpstream(): Promise<typeof upstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const tools = ['echo', 'write', 'grow', 'boom'];
  let connections = 0;
  const http = createServer(async (request, response) => {
    let body: unknown;
    if (request.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if ((body as { params?: { name?: string } }).params?.name === 'boom')
        return void response.writeHead(500).end('backend db.internal:5432 refused the connection');
    }
    const header = request.headers['mcp-session-id'];
    const session = typeof header === 'string' ? sessions.get(header) : undefined;
    if (session !== undefined) return void session.handleRequest(request, response, body);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    const server = new Server({ name: 'upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: tools.map((name) => ({ name, inputSchema: { type: 'object' as const } })),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (call) => {
      if (call.params.name === 'grow' && !tools.includes('extra')) {
        tools.push('extra');
        await server.sendToolListChanged();
      }
      return {
        content: [{ type: 'text', text: `${call.params.name}: ${JSON.stringify(call.params.arguments)}` }],
      };
    });
    void server.connect(transport).then(() => transport.handleRequest(request, response, body));
  });
  http.on('connection', () => connections++);
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', () => done()));
  const { port } = http.address() as AddressInfo;
  return { http, url: `http://127.0.0.1:${port}/mcp`, connections: () => connections };
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-http-transport-'));
  upstream = await startUpstream();
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: http-transport }
tools:
  - { server: up, name: echo, risk: low, effects: [read] }
  - { server: up, name: write, risk: high, effects: [write] }
  - { server: up, name: grow, risk: low, effects: [read] }
  - { server: up, name: extra, risk: low, effects: [read] }
  - { server: up, name: boom, risk: low, effects: [read] }
rules:
  - { id: echo, effect: allow, tool: { server: up, name: echo }, reason: harmless }
  - { id: grow, effect: allow, tool: { server: up, name: grow }, reason: harmless }
  - { id: extra, effect: allow, tool: { server: up, name: extra }, reason: harmless }
  - { id: boom, effect: allow, tool: { server: up, name: boom }, reason: harmless }
  - { id: writes-need-a-human, effect: approve, tool: { server: up, name: write }, reason: every write is reviewed }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: up
    http: { url: ${JSON.stringify(upstream.url)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, approvalTimeout: 4s }
`,
  );
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  const registry = new AgentRegistry(identity);
  for (const id of ['json', 'held', 'gone', 'deleted', 'wire', 'reuse', 'grow', 'boom'])
    await registry.create({ id, owner: 'ana@example.com', roles: [], scopes: ['up/*'] });
  await identity.close();
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  upstream?.http.closeAllConnections();
  upstream?.http.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function tokenFor(agent: string): Promise<string> {
  const store = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  const auth = await Authenticator.open({ store, keys: credentialKeysBeside(directory) });
  try {
    return (await auth.issue(agent, { sessionId: `${agent}-session` })).token;
  } finally {
    auth.close();
    await store.close();
  }
}

interface Exchange {
  readonly method: string;
  /** The JSON-RPC method the POST carried. */
  readonly rpc: string | undefined;
  readonly status: number;
  readonly contentType: string;
}

/** An SDK client that notes every HTTP exchange it has with the gateway. */
async function recordingClient(agent: string) {
  const token = await tokenFor(agent);
  const exchanges: Exchange[] = [];
  const transport = new StreamableHTTPClientTransport(new URL(gateway.endpoint), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : {};
      exchanges.push({
        method: init?.method ?? 'GET',
        rpc: body.method,
        status: response.status,
        contentType: response.headers.get('content-type') ?? '',
      });
      return response;
    },
  });
  const client = new Client({ name: 'http-transport-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  const of = (rpc: string) => exchanges.filter((exchange) => exchange.rpc === rpc);
  return { client, transport, token, exchanges, of };
}

/** The outcome recorded for the agent's one call of `write`. */
async function outcomeOf(agent: string): Promise<string> {
  return eventually(
    async () => {
      const audit = new SqliteAuditLog({ path: join(directory, 'reins.db'), readOnly: true });
      try {
        const records = await audit.query({ kind: 'call-outcome', agentId: agent });
        const outcome = records.map((record) => record.event).find((event) => event.kind === 'call-outcome');
        return present(outcome?.kind === 'call-outcome' ? outcome.outcome : undefined, 'no outcome yet');
      } finally {
        await audit.close();
      }
    },
    { timeoutMs: 15_000, what: `the outcome of ${agent}'s call` },
  );
}

describe('gateway over Streamable HTTP: how it answers', () => {
  it('answers a call decided at once with a JSON body, not an event stream', async () => {
    const { client, of } = await recordingClient('json');
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'up__echo',
      'up__write',
      'up__grow',
      'up__boom',
    ]);
    const echo = (await client.callTool({ name: 'up__echo', arguments: { n: 1 } })) as CallToolResult;
    expect(textOf(echo)).toBe('echo: {"n":1}');
    for (const rpc of ['initialize', 'tools/list', 'tools/call']) {
      expect(of(rpc)).toEqual([{ method: 'POST', rpc, status: 200, contentType: 'application/json' }]);
    }
    expect(of('notifications/initialized')).toMatchObject([{ status: 202 }]);
  });

  it('streams a held call: progress while it waits, then its answer, on one event stream', async () => {
    const { client, of } = await recordingClient('held');
    const progress: Progress[] = [];
    const result = (await client.callTool({ name: 'up__write', arguments: {} }, undefined, {
      onprogress: (update) => progress.push(update),
      timeout: 15_000,
    })) as CallToolResult;
    // nobody approved it: the approval timeout refuses it, on the stream its progress came on
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Reins refused this call/);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.message).toContain(WAITING);
    expect(of('tools/call')).toEqual([
      { method: 'POST', rpc: 'tools/call', status: 200, contentType: 'text/event-stream' },
    ]);
  }, 30_000);

  it('ends a held call whose client goes away while its stream is open: abandoned', async () => {
    const { token, transport } = await recordingClient('gone');
    const abort = new AbortController();
    const response = await fetch(gateway.endpoint, {
      method: 'POST',
      headers: sessionHeaders(token, transport),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'held-1',
        method: 'tools/call',
        params: { name: 'up__write', arguments: {}, _meta: { progressToken: 'p-1' } },
      }),
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('notifications/progress');
    expect(first).toContain(WAITING);
    abort.abort(); // before the approval timeout: the client is gone while its call is held
    await reader.closed.catch(() => {});
    expect(await outcomeOf('gone')).toBe('abandoned');
  }, 30_000);

  it('answers a held call with an error when its session is closed (DELETE), and forgets the session', async () => {
    const { client, transport, token } = await recordingClient('deleted');
    const progress: Progress[] = [];
    const held = client.callTool({ name: 'up__write', arguments: {} }, undefined, {
      onprogress: (update) => progress.push(update),
      timeout: 15_000,
    });
    await eventually(() => expect(progress.length).toBeGreaterThan(0));
    const headers = sessionHeaders(token, transport);
    await transport.terminateSession();
    await expect(held).rejects.toThrow(/session was closed/);
    expect(await outcomeOf('deleted')).toBe('abandoned');
    const after = await fetch(gateway.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
  }, 30_000);

  it('answers batches in one JSON array, and refuses what it cannot take with clear errors', async () => {
    const { token, transport } = await recordingClient('wire');
    const headers = sessionHeaders(token, transport);
    const post = (body: unknown, extra: Record<string, string> = {}) =>
      fetch(gateway.endpoint, {
        method: 'POST',
        headers: { ...headers, ...extra },
        body: JSON.stringify(body),
      });
    const echo = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'up__echo', arguments: { id } },
    });

    const batch = await post([echo(1), echo(2)]);
    expect(batch.headers.get('content-type')).toBe('application/json');
    const answers = (await batch.json()) as { id: number; result: CallToolResult }[];
    expect(answers.map((answer) => [answer.id, textOf(answer.result)])).toEqual([
      [1, 'echo: {"id":1}'],
      [2, 'echo: {"id":2}'],
    ]);

    const notified = await post({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    expect(notified.status).toBe(202);
    const notAcceptable = await post(echo(3), { accept: 'application/json' });
    expect(notAcceptable.status).toBe(406);
    const badVersion = await post(echo(4), { 'mcp-protocol-version': '1999-01-01' });
    expect(badVersion.status).toBe(400);
    const notJsonRpc = await post({ hello: 'there' });
    expect(notJsonRpc.status).toBe(400);
    expect(await notJsonRpc.json()).toMatchObject({ error: { code: -32600 } });
    const reinitialize = await post({
      jsonrpc: '2.0',
      id: 5,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    });
    expect(reinitialize.status).toBe(400);
    const unknown = await post(echo(6), { 'mcp-session-id': randomUUID() });
    expect(unknown.status).toBe(404);
    const put = await fetch(gateway.endpoint, { method: 'PUT', headers, body: '{}' });
    expect(put.status).toBe(405);
    // the SDK client opened the session's one standalone stream (GET) after initializing
    const second = await fetch(gateway.endpoint, {
      headers: { ...headers, accept: 'text/event-stream' },
    });
    expect(second.status).toBe(409);
  });

  it('reuses its connections to an HTTP upstream', async () => {
    const { client } = await recordingClient('reuse');
    const before = upstream.connections();
    for (let index = 0; index < 40; index++) {
      const echo = (await client.callTool({ name: 'up__echo', arguments: { index } })) as CallToolResult;
      expect(echo.isError).toBeFalsy();
    }
    // the calls one after another ride on the connection already open (a new one per call would be 40)
    expect(upstream.connections() - before).toBeLessThanOrEqual(2);
  });

  it("tells the agent an HTTP upstream's failure in short, and the operator's log its detail", async () => {
    const { client } = await recordingClient('boom');
    const result = (await client.callTool({ name: 'up__boom', arguments: {} })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe('tool failed: upstream `up` answered HTTP 500');
    expect(gateway.log).toContainEqual(
      expect.stringMatching(
        /upstream `up` error: upstream `up` answered HTTP 500: backend db\.internal:5432 refused the connection$/,
      ),
    );
  });

  it("hears an HTTP upstream's tool list change on its standalone stream, and lists the new tool", async () => {
    const { client } = await recordingClient('grow');
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain('up__extra');
    expect((await client.callTool({ name: 'up__grow', arguments: {} })).isError).toBeFalsy();
    await eventually(async () =>
      expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('up__extra'),
    );
    const extra = (await client.callTool({ name: 'up__extra', arguments: {} })) as CallToolResult;
    expect(textOf(extra)).toBe('extra: {}');
  });
});
