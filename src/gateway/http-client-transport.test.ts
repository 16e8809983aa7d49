/**
 * @module gateway/http-client-transport.test
 * The upstream transport with the official SDK client, against the SDK's own Streamable HTTP server on
 * a loopback port, answering with event streams (its default) or JSON bodies: calls, the headers sent,
 * an answer past the size bound, a session the server no longer knows. And its event-stream reader:
 * events split anywhere between pieces, every line break the format allows, comments, multi-line data,
 * other event types, and the size bound.
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
 * its stream open until the client cancels the call. Notes each stream it ends.
 */
async function scriptedUpstream() {
  const ended: string[] = [];
  const waiting = new Map<unknown, () => void>();
  http = createServer((request, response) => {
    if (request.method !== 'POST') return void response.writeHead(405).end();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const message = JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
      if (message.params.name === 'vanish') end();
      else waiting.set(message.id, end);
    });
  });
  await new Promise<void>((done) => http?.listen(0, '127.0.0.1', () => done()));
  return { url: new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`), ended };
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

  it('fails a call with the status and text of a server that no longer knows the session', async () => {
    const { url, forget } = await upstream(false);
    const client = await connect(url);
    forget();
    await expect(say(client, 1)).rejects.toThrow(/Error POSTing to endpoint: 400/);
  });

  it('fails a call at once when its event stream ends without the answer, but not a cancelled one', async () => {
    const { url, ended } = await scriptedUpstream();
    const client = await connect(url);
    const errors: string[] = [];
    client.onerror = (error) => errors.push(error.message);
    await expect(client.callTool({ name: 'vanish' })).rejects.toThrow(/event stream ended before it/);
    const abort = new AbortController();
    const waiting = client.callTool({ name: 'wait' }, undefined, { signal: abort.signal });
    await expect.poll(() => ended.length).toBe(1); // the first stream; the second is open
    abort.abort('never mind');
    await expect(waiting).rejects.toThrow(/never mind/);
    await expect.poll(() => ended.length).toBe(2);
    await new Promise((done) => setTimeout(done, 50));
    expect(errors).toEqual([]);
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
});
