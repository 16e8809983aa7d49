/**
 * @module gateway/http-client-transport.test
 * The upstream transport with the official SDK client, against the SDK's own Streamable HTTP server on
 * a loopback port, answering with event streams (its default) or JSON bodies: calls, the headers sent,
 * an answer past the size bound, a session the server no longer knows. Against a hand-written upstream:
 * answers that never come or come wrong fail at once, a hung upstream holds no connection once its
 * calls are over, connections are bounded, and what a failure says is short (the detail goes to the
 * transport's `onerror`, the operator's log). And its event-stream reader:
 * events split anywhere between pieces, every line break the format allows, comments, multi-line data,
 * other event types, the size bound (in bytes, as they arrive), and that each piece is read once.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStreamParser, HttpClientTransport } from './http-client-transport.js';

let http: HttpServer | undefined;
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  http?.closeAllConnections();
  http?.close();
});

/** An SDK server whose tool `say` answers with `size` characters; notes each request's headers. */
async function upstream(enableJsonResponse: boolean) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const seen: IncomingHttpHeaders[] = [];
  http = createServer((request, response) => {
    seen.push(request.headers);
    const header = request.headers['mcp-session-id'];
    const session = typeof header === 'string' ? sessions.get(header) : undefined;
    if (session !== undefined) return void session.handleRequest(request, response);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse,
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    const server = new Server({ name: 'upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 'say', inputSchema: { type: 'object' as const } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, async (call) => ({
      content: [{ type: 'text', text: 'x'.repeat(Number(call.params.arguments?.size ?? 1)) }],
    }));
    void server.connect(transport).then(() => transport.handleRequest(request, response));
  });
  await new Promise<void>((done) => http?.listen(0, '127.0.0.1', () => done()));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  return { url, seen, forget: () => sessions.clear() };
}

/**
 * A hand-written upstream: `vanish` opens an event stream and ends it without an answer; `wait` keeps
 * its stream open until the client cancels the call; `linger` answers on its stream and leaves it open;
 * `hang` never answers (not even a status), `hang-stream` opens its stream and never answers, and
 * neither answers the cancellation of its call (a hung upstream); `wrong-id` answers a JSON body for
 * another request, `accepted` says 202, `fail` says 500 with internal detail; `quick` answers at once.
 * Notes each stream it ends, and how many connections and requests are open (and the most at once).
 */
async function scriptedUpstream() {
  const ended: string[] = [];
  const waiting = new Map<unknown, () => void>();
  const names = new Map<unknown, string>();
  const counts = { connections: 0, peakConnections: 0, requests: 0 };
  http = createServer((request, response) => {
    if (request.method !== 'POST') return void response.writeHead(405).end();
    counts.requests++;
    response.once('close', () => counts.requests--);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const name = message.params?.name;
      if (message.id !== undefined) names.set(message.id, name);
      const hung = (tool: unknown) => tool === 'hang' || tool === 'hang-stream';
      if (hung(name) || hung(names.get(message.params?.requestId))) {
        if (name === 'hang-stream') response.writeHead(200, { 'content-type': 'text/event-stream' });
        if (name === 'hang-stream') response.write(': opened\n\n');
        return; // nothing more, ever
      }
      if (name === 'wrong-id') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end(JSON.stringify({ jsonrpc: '2.0', id: 'other', result: { content: [] } }));
      }
      if (name === 'accepted') return void response.writeHead(202).end();
      if (name === 'fail')
        return void response.writeHead(500).end('the database at db.internal:5432 refused us');
      if (name === 'fail-endless') {
        // an error page that never ends: a line every 10 ms, the connection kept busy
        response.writeHead(500);
        const drip = setInterval(() => response.write(`${'x'.repeat(1_000)}\n`), 10);
        response.on('close', () => clearInterval(drip));
        return;
      }
      if (name === 'quick') {
        response.writeHead(200, { 'content-type': 'application/json' });
        return void response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [] } }));
      }
      if (message.method === 'initialize') {
        const result = {
          protocolVersion: message.params.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: 'scripted', version: '1' },
        };
        response.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's-1' });
        return void response.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      }
      if (message.id === undefined) {
        waiting.get(message.params?.requestId)?.();
        return void response.writeHead(202).end();
      }
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(': opened\n\n');
      const end = () => {
        ended.push(message.params.name);
        response.end();
      };
      if (name === 'linger') {
        response.once('close', () => ended.push('linger'));
        response.write(
          `data: ${JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [] } })}\n\n`,
        );
        return;
      }
      if (name === 'vanish') end();
      else waiting.set(message.id, end);
    });
  });
  http.on('connection', (socket) => {
    counts.connections++;
    counts.peakConnections = Math.max(counts.peakConnections, counts.connections);
    socket.once('close', () => counts.connections--);
  });
  await new Promise<void>((done) => http?.listen(0, '127.0.0.1', () => done()));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
  return { url, ended, waiting, counts };
}

async function connect(
  url: URL,
  options: Partial<ConstructorParameters<typeof HttpClientTransport>[1]> = {},
) {
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(new HttpClientTransport(url, { maxMessageBytes: 10_000, ...options }));
  clients.push(client);
  return client;
}

const say = (client: Client, size: number) =>
  client.callTool({ name: 'say', arguments: { size } }) as Promise<CallToolResult>;

describe('HttpClientTransport with the SDK client and server', () => {
  for (const json of [false, true]) {
    it(`calls tools whose answers come ${json ? 'as JSON bodies' : 'on event streams'}, with the headers it is given`, async () => {
      const { url, seen } = await upstream(json);
      let call = 0;
      const client = await connect(url, {
        headers: { authorization: 'Bearer upstream-secret' },
        headersNow: () => ({ traceparent: `00-${'1'.repeat(32)}-${String(++call).padStart(16, '0')}-01` }),
      });
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['say']);
      for (const size of [1, 5_000])
        expect((await say(client, size)).content).toMatchObject([{ text: 'x'.repeat(size) }]);
      const posts = seen.filter((headers) => headers['content-type'] === 'application/json');
      expect(posts.every((headers) => headers.authorization === 'Bearer upstream-secret')).toBe(true);
      expect(new Set(posts.map((headers) => headers.traceparent)).size).toBe(posts.length);
      expect(posts.at(-1)?.['mcp-session-id']).toBeDefined();
      expect(posts.at(-1)?.['mcp-protocol-version']).toBeDefined();
    });

    it(`fails a call whose answer is larger than the bound (${json ? 'JSON' : 'event stream'})`, async () => {
      const { url } = await upstream(json);
      const client = await connect(url);
      await expect(
        client.callTool({ name: 'say', arguments: { size: 20_000 } }, undefined, { timeout: 2_000 }),
      ).rejects.toThrow(/larger than 10000 bytes/);
      expect((await say(client, 10)).isError).toBeFalsy();
    });
  }

  it('fails a call with the status of a server that no longer knows the session, its text for the log', async () => {
    const { url, forget } = await upstream(false);
    const client = await connect(url, { name: 'up' });
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    forget();
    await expect(say(client, 1)).rejects.toThrow(/^upstream `up` answered HTTP 400$/);
    expect(errors.at(-1)).toMatch(/^upstream `up` answered HTTP 400: .*Server not initialized/);
  });

  it('fails a call at once when its event stream ends without the answer, but not a cancelled one', async () => {
    const { url, ended, waiting: open } = await scriptedUpstream();
    const client = await connect(url);
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    await expect(client.callTool({ name: 'vanish' })).rejects.toThrow(/event stream ended before it/);
    const abort = new AbortController();
    const waiting = client.callTool({ name: 'wait' }, undefined, { signal: abort.signal });
    await expect.poll(() => ended.length).toBe(1); // the first stream
    await expect.poll(() => open.size).toBe(1); // the second is open
    abort.abort('never mind');
    await expect(waiting).rejects.toThrow(/never mind/);
    await expect.poll(() => ended.length).toBe(2);
    await new Promise((done) => setTimeout(done, 50));
    expect(errors).toEqual([]);
  });

  it('closes an answer stream the upstream leaves open once its answer is in', async () => {
    const { url, ended } = await scriptedUpstream();
    const client = await connect(url);
    expect((await client.callTool({ name: 'linger' })).content).toEqual([]);
    await expect.poll(() => ended, { timeout: 5_000 }).toEqual(['linger']);
  });

  it('holds no connection for calls that timed out against a hung upstream, nor for their cancellations', async () => {
    const { url, counts } = await scriptedUpstream();
    const client = await connect(url, { notificationTimeoutMs: 100 });
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    for (const name of ['hang', 'hang-stream'])
      await expect(client.callTool({ name }, undefined, { timeout: 100 })).rejects.toThrow(/timed out/);
    // the two calls and their two cancellations, none of which the upstream ever answered, are over
    await expect.poll(() => counts.requests, { timeout: 5_000 }).toBe(0);
    expect((await client.callTool({ name: 'quick' })).content).toEqual([]);
    // what the operator is told: the cancellations the upstream did not take, and nothing about the calls
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((error) => /notification|cancellation/.test(error))).toBe(true);
  });

  it('opens at most `maxSockets` connections to an upstream: more requests wait for one', async () => {
    const { url, counts } = await scriptedUpstream();
    const client = await connect(url, { maxSockets: 2, notificationTimeoutMs: 100 });
    const calls = ['hang', 'hang', 'hang'].map((name) =>
      client.callTool({ name }, undefined, { timeout: 300 }).catch((error: Error) => error.message),
    );
    expect(await Promise.all(calls)).toEqual(Array(3).fill(expect.stringMatching(/timed out/)));
    expect(counts.peakConnections).toBe(2);
    expect((await client.callTool({ name: 'quick' })).content).toEqual([]);
  });

  it('fails a call at once when the upstream answers a JSON body without its answer, or 202', async () => {
    const { url } = await scriptedUpstream();
    const client = await connect(url, { name: 'up' });
    await expect(client.callTool({ name: 'wrong-id' }, undefined, { timeout: 5_000 })).rejects.toThrow(
      /upstream `up` answered without the answer to the request/,
    );
    await expect(client.callTool({ name: 'accepted' }, undefined, { timeout: 5_000 })).rejects.toThrow(
      /upstream `up` accepted the request without answering it \(HTTP 202\)/,
    );
  });

  it("tells the caller a short error, and the operator (onerror) the upstream's detail", async () => {
    const { url } = await scriptedUpstream();
    const client = await connect(url, { name: 'up' });
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    await expect(client.callTool({ name: 'fail' })).rejects.toThrow(/^upstream `up` answered HTTP 500$/);
    expect(errors.at(-1)).toBe(
      'upstream `up` answered HTTP 500: the database at db.internal:5432 refused us',
    );
  });

  it('reads no more of an error page than it reports: an endless one fails the call at once', async () => {
    const { url } = await scriptedUpstream();
    const client = await connect(url, { name: 'up' });
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    // the call's own timeout is far away: only a read that stops ends it
    await expect(client.callTool({ name: 'fail-endless' }, undefined, { timeout: 60_000 })).rejects.toThrow(
      /^upstream `up` answered HTTP 500$/,
    );
    expect(errors.at(-1)?.length).toBeLessThanOrEqual(4_200);
  }, 30_000);

  it("tells the caller that an upstream it cannot reach is unavailable, the operator the connection's error", async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', () => done()));
    const { port } = closed.address() as AddressInfo;
    await new Promise((done) => closed.close(done));
    const transport = new HttpClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
      name: 'up',
      maxMessageBytes: 10_000,
    });
    const errors: string[] = [];
    transport.onerror = (error) => errors.push(error.message);
    await transport.start();
    const call = { jsonrpc: '2.0' as const, id: 1, method: 'tools/call', params: { name: 'quick' } };
    await expect(transport.send(call)).rejects.toThrow(/^upstream `up` is unavailable$/);
    expect(errors).toEqual([expect.stringMatching(`ECONNREFUSED 127.0.0.1:${port}`)]);
    await transport.close();
  });

  it('refuses a URL that is not HTTP when it starts', async () => {
    await expect(connect(new URL('ftp://127.0.0.1/mcp'))).rejects.toThrow(/not HTTP/);
  });
});

function parse(pieces: readonly string[], max = 1_000): { data: string[]; ok: boolean } {
  const data: string[] = [];
  const parser = new EventStreamParser(max, (text) => data.push(text));
  let ok = true;
  for (const piece of pieces) ok = parser.push(piece) && ok;
  return { data, ok };
}

describe('EventStreamParser', () => {
  it('hands on the data of each message event, however the stream is cut', () => {
    const stream = 'event: message\ndata: {"a":1}\n\n: keepalive\n\ndata: {"b":2}\n\n';
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)]).data).toEqual(['{"a":1}', '{"b":2}']);
    }
    expect(parse([...stream]).data).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads CRLF and lone CR line breaks, a CRLF cut between its halves', () => {
    expect(parse(['data: one\r\n\r\ndata: two\r\rdata: three\n\n']).data).toEqual(['one', 'two', 'three']);
    expect(parse(['data: x\r', '\n\r', '\n']).data).toEqual(['x']);
  });

  it('joins multi-line data, takes `data:` without a space, skips other events and empty data', () => {
    expect(parse(['data: a\ndata:b\n\nevent: ping\ndata: p\n\ndata:\n\nid: 7\n\n']).data).toEqual(['a\nb']);
  });

  it('says when an event grows past the bound', () => {
    expect(parse(['data: 12345\n'], 8).ok).toBe(true);
    expect(parse(['data: 12345', '67890'], 8).ok).toBe(false);
    expect(parse(['data: 12345\n', 'data: 67890\n'], 8).ok).toBe(false);
    expect(parse(['data: 12345\n\n', 'data: 67890\n\n'], 8)).toEqual({ data: ['12345', '67890'], ok: true });
  });

  it('counts empty data lines too: an upstream cannot grow an event without bound with them', () => {
    expect(parse(['data:\n'.repeat(4)], 8).ok).toBe(true);
    expect(parse(['data:\n'.repeat(20)], 8).ok).toBe(false);
    expect(
      parse(
        Array.from({ length: 20 }, () => 'data\n'),
        8,
      ).ok,
    ).toBe(false);
  });

  it('bounds an event by its UTF-8 bytes, not its characters', () => {
    expect(parse(['data: éé\n'], 5).ok).toBe(true);
    expect(parse(['data: ééé\n'], 5).ok).toBe(false);
    expect(parse(['data: ', 'ééééé'], 15).ok).toBe(false);
  });

  it('reads each piece once: a large event in small pieces costs work linear in its size', () => {
    const piece = 'x'.repeat(2_048);
    const pieces = ['data: ', ...Array.from({ length: 1_024 }, () => piece), '\n\n'];
    const { result, scanned } = countScanned(() => parse(pieces, 4 * MIB));
    expect(result.data.map((data) => data.length)).toEqual([2 * MIB]);
    expect(scanned).toBeLessThanOrEqual(3 * 2 * MIB);
  });

  it('reads a piece of many short lines once', () => {
    const text = 'data:\n\n: keepalive\n'.repeat(50_000);
    const { result, scanned } = countScanned(() => parse([text], 64));
    expect(result.ok).toBe(true);
    expect(scanned).toBeLessThanOrEqual(3 * text.length);
  });

  it('refuses an event past the bound as soon as it is, before the rest arrives', () => {
    const piece = 'x'.repeat(64 * 1_024);
    const parser = new EventStreamParser(64 * MIB, () => undefined);
    let refusedAt: number | undefined;
    const { scanned } = countScanned(() => {
      parser.push('data: ');
      for (let i = 1; i <= 1_120 && refusedAt === undefined; i++) if (!parser.push(piece)) refusedAt = i;
    });
    expect(refusedAt).toBe(1_024); // 70 MiB in 64 KiB pieces: the one that passes 64 MiB
    expect(scanned).toBeLessThanOrEqual(3 * 64 * MIB);
  });
});

const MIB = 1_024 * 1_024;

/**
 * How many characters `String.prototype.indexOf` looks at while `run` runs (the parser finds line
 * breaks and colons with it): the work of reading, counted instead of timed.
 */
function countScanned<T>(run: () => T): { result: T; scanned: number } {
  const indexOf = String.prototype.indexOf;
  let scanned = 0;
  String.prototype.indexOf = function (this: string, search: string, from?: number): number {
    const start = Math.max(0, Math.min(from ?? 0, this.length));
    const found = indexOf.call(this, search, from);
    scanned += (found === -1 ? this.length : found + search.length) - start;
    return found;
  };
  try {
    return { result: run(), scanned };
  } finally {
    String.prototype.indexOf = indexOf;
  }
}
