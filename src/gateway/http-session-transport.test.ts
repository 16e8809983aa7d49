/**
 * @module gateway/http-session-transport.test
 * The gateway's Streamable HTTP session transport with an SDK server behind it, on a loopback port:
 * how a POST is answered when its answer is slow (an event stream with keep-alive comments, then the
 * answer), when its request is cancelled (the exchange ends, no answer), when its client goes away
 * (the server hears a cancellation), when a batch's answers grow large (streamed, not held), and when
 * its client stops reading (cut off as if it had gone, not buffered without bound): an event stream,
 * and a connection whose pipelined JSON answers wait unread.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  request as httpRequest,
  type IncomingMessage,
} from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpSessionTransport, type HttpSessionTransportOptions } from './http-session-transport.js';

const PROTOCOL = '2025-06-18';
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

interface Running {
  readonly url: string;
  readonly session: () => HttpSessionTransport;
  /** Why each `slow` call's signal was aborted. */
  readonly aborted: unknown[];
  /** Resolves once the server has started `times` calls of `slow` with this id. */
  readonly running: (id: number, times?: number) => Promise<void>;
  /** How many progress notifications each `flood` call sent before it ended. */
  readonly flooded: number[];
}

/** What `flood` sends at most: far more than the socket buffers of a loopback connection hold. */
const FLOOD_NOTIFICATIONS = 1_024;
const FLOOD_PIECE = 'x'.repeat(64 * 1024);

let http: HttpServer | undefined;
const sockets: Socket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  http?.closeAllConnections();
  http?.close();
});

/**
 * One session's transport behind a loopback endpoint. Its tool `slow` answers after `slowMs`; `big`
 * answers at once with `size` characters; `flood` sends 64 KiB progress notifications (up to 64 MiB)
 * until it is cancelled.
 */
async function start(
  options: { keepAliveMs: number; slowMs: number } & Partial<HttpSessionTransportOptions>,
): Promise<Running> {
  const aborted: unknown[] = [];
  const started: unknown[] = [];
  const flooded: number[] = [];
  const transport = new HttpSessionTransport({ sessionId: randomUUID(), ...options });
  const server = new Server({ name: 'test', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
  server.setRequestHandler(CallToolRequestSchema, async (call, extra) => {
    if (call.params.name === 'big')
      return { content: [{ type: 'text', text: 'x'.repeat(Number(call.params.arguments?.size)) }] };
    if (call.params.name === 'flood') {
      let sent = 0;
      const progressToken = call.params._meta?.progressToken ?? 0;
      for (; sent < FLOOD_NOTIFICATIONS && !extra.signal.aborted; sent++) {
        const params = { progressToken, progress: sent, message: FLOOD_PIECE };
        await extra.sendNotification({ method: 'notifications/progress', params });
        await new Promise((done) => setImmediate(done));
      }
      flooded.push(sent);
      extra.signal.addEventListener('abort', () => aborted.push(extra.signal.reason));
      if (extra.signal.aborted) aborted.push(extra.signal.reason);
      return { content: [] };
    }
    started.push(extra.requestId);
    extra.signal.addEventListener('abort', () => aborted.push(extra.signal.reason));
    await new Promise((done) => setTimeout(done, options.slowMs));
    return { content: [{ type: 'text', text: 'slow answer' }] };
  });
  await server.connect(transport);
  http = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      void transport.handle(request, response, body);
    });
  });
  await new Promise<void>((done) => http?.listen(0, '127.0.0.1', () => done()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  const initialize = await post(url, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'test', version: '1' } },
  });
  expect(initialize.headers.get('content-type')).toBe('application/json');
  expect(initialize.headers.get('mcp-session-id')).toBe(transport.sessionId);
  await initialize.json();
  const running = async (id: number, times = 1) => {
    await expect.poll(() => started.filter((each) => each === id).length).toBe(times);
  };
  return { url, session: () => transport, aborted, running, flooded };
}

function post(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...HEADERS, 'mcp-protocol-version': PROTOCOL },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

const slowCall = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'slow' } });
const bigCall = (id: number, size: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'big', arguments: { size } },
});

/** The JSON-RPC messages of an event stream's text. */
function eventsOf(text: string): { id?: number; result?: { content: { text: string }[] } }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)));
}

/** POSTs with Node's own client and never reads the answer: a client that stopped reading. */
function postWithoutReading(url: string, body: unknown): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const request = httpRequest(url, {
      method: 'POST',
      headers: { ...HEADERS, 'mcp-protocol-version': PROTOCOL, 'content-length': Buffer.byteLength(text) },
    });
    request.once('response', (response) => {
      response.pause(); // nothing more is read: the socket's buffers fill, then the server's
      response.on('error', () => {});
      resolve(response);
    });
    request.once('error', reject);
    request.end(text);
  });
}

/**
 * Opens a connection that never reads and sends `messages` on it, one POST each, all at once
 * (pipelined: HTTP/1.1 answers them in order, each queued behind the one before).
 */
async function pipelineWithoutReading(url: string, messages: readonly unknown[]): Promise<void> {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  socket.pause();
  socket.on('error', () => {});
  await new Promise<void>((done) => socket.once('connect', () => done()));
  const posts = messages.map((message) => {
    const body = JSON.stringify(message);
    const head = [
      `POST ${pathname} HTTP/1.1`,
      `host: ${hostname}:${port}`,
      `content-type: ${HEADERS['content-type']}`,
      `accept: ${HEADERS.accept}`,
      `mcp-protocol-version: ${PROTOCOL}`,
      `content-length: ${Buffer.byteLength(body)}`,
    ];
    return `${head.join('\r\n')}\r\n\r\n${body}`;
  });
  socket.write(posts.join(''));
}

describe('HttpSessionTransport', () => {
  it('streams an answer that is slow to come, with keep-alive comments until it does', async () => {
    const { url } = await start({ keepAliveMs: 40, slowMs: 300 });
    const response = await post(url, slowCall(1));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(text).toMatch(/^: keepalive\n\n/);
    const data = text.split('\n').filter((line) => line.startsWith('data: '));
    expect(data.map((line) => JSON.parse(line.slice(6)))).toEqual([
      { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'slow answer' }] } },
    ]);
  });

  it('answers JSON that is not a JSON-RPC message as an invalid request (-32600), not a parse error', async () => {
    const { url } = await start({ keepAliveMs: 10_000, slowMs: 0 });
    for (const body of [{ hello: 'there' }, [slowCall(1), 42], { jsonrpc: '2.0', id: 1 }]) {
      const response = await post(url, body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: -32600 } });
    }
  });

  it('answers a batch in one array, its notifications taken along', async () => {
    const { url } = await start({ keepAliveMs: 10_000, slowMs: 0 });
    const response = await post(url, [
      slowCall(1),
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      slowCall(2),
    ]);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(((await response.json()) as { id: number }[]).map((answer) => answer.id)).toEqual([1, 2]);
  });

  it('streams a batch once the answers it holds pass the bound, instead of holding them all for one JSON body', async () => {
    const { url } = await start({ keepAliveMs: 10_000, slowMs: 0, maxHeldAnswerBytes: 150_000 });
    const response = await post(url, [bigCall(1, 100_000), bigCall(2, 100_000), bigCall(3, 100_000)]);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const answers = eventsOf(await response.text());
    expect(answers.map((answer) => [answer.id, answer.result?.content[0]?.text.length])).toEqual([
      [1, 100_000],
      [2, 100_000],
      [3, 100_000],
    ]);
    // under the bound, a batch is still one JSON body
    const small = await post(url, [bigCall(4, 10), bigCall(5, 10)]);
    expect(small.headers.get('content-type')).toBe('application/json');
  });

  it('cuts off an event stream whose client stopped reading, as if it had gone: its request is cancelled', async () => {
    const { url, aborted, flooded } = await start({
      keepAliveMs: 10_000,
      slowMs: 0,
      maxUnreadBytes: 1024 * 1024,
    });
    const flood = {
      jsonrpc: '2.0',
      id: 11,
      method: 'tools/call',
      params: { name: 'flood', _meta: { progressToken: 'f' } },
    };
    const response = await postWithoutReading(url, flood);
    expect(response.headers['content-type']).toBe('text/event-stream');
    await expect.poll(() => flooded.length, { timeout: 30_000 }).toBe(1);
    // the transport stopped the stream long before the tool had sent everything
    expect(flooded[0]).toBeLessThan(FLOOD_NOTIFICATIONS);
    expect(aborted).toEqual(['the client disconnected before the response']);
    response.destroy(); // (a paused client does not even read the end of its stream)
    // the session goes on: the next request is answered
    expect((await post(url, bigCall(12, 10))).status).toBe(200);
  }, 60_000);

  it('cuts off a connection whose client pipelines requests and reads none of their JSON answers: what is under way is cancelled', async () => {
    const cutOff: number[] = [];
    const { url, aborted, running } = await start({
      keepAliveMs: 10_000,
      slowMs: 20_000,
      maxUnreadBytes: 1024 * 1024,
      onCutOff: (unreadBytes) => cutOff.push(unreadBytes),
    });
    // the first answer is more than the kernel's socket buffers take, so it stays; the slow calls'
    // responses wait in Node's queue behind it, and the next answer is past the bound
    const first = 12 * 1024 * 1024;
    await pipelineWithoutReading(url, [bigCall(20, first), slowCall(39), slowCall(40), bigCall(21, 1024)]);
    await running(39);
    await running(40);
    // Node closes the response right behind the one being sent when the connection goes, not those
    // further back (40 here): only the connection's end tells them
    const gone = 'the client disconnected before the response';
    await expect.poll(() => aborted, { timeout: 10_000 }).toEqual([gone, gone]);
    expect(cutOff).toHaveLength(1);
    expect(cutOff[0]).toBeGreaterThan(1024 * 1024);
    expect(cutOff[0]).toBeLessThan(first + 1024);
    // the session goes on: the next request is answered
    expect((await post(url, bigCall(41, 10))).status).toBe(200);
  }, 30_000);

  it('ends the exchange of a request its client cancels, without an answer', async () => {
    const { url, aborted, running } = await start({ keepAliveMs: 10_000, slowMs: 2_000 });
    const pending = post(url, slowCall(7));
    await running(7);
    const cancelled = await post(url, {
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 7, reason: 'never mind' },
    });
    expect(cancelled.status).toBe(202);
    const response = await pending;
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('');
    expect(aborted).toEqual(['never mind']);
  });

  it('tells the server that a request is cancelled when its client goes away before the answer', async () => {
    const { url, aborted, running } = await start({ keepAliveMs: 10_000, slowMs: 2_000 });
    const abort = new AbortController();
    const pending = post(url, slowCall(9), abort.signal).catch(() => undefined);
    await running(9);
    abort.abort();
    await pending;
    await expect.poll(() => aborted).toEqual(['the client disconnected before the response']);
    // the id is free again: the request it named is over
    const again = post(url, slowCall(9));
    await running(9, 2);
    await post(url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } });
    expect((await again).status).toBe(200);
  });

  it('answers what still waits with an error when the session is closed', async () => {
    const { url, session, running } = await start({ keepAliveMs: 10_000, slowMs: 2_000 });
    const pending = post(url, slowCall(3));
    await running(3);
    await session().close();
    const response = await pending;
    expect(await response.json()).toMatchObject({ id: 3, error: { code: -32000 } });
    expect((await post(url, slowCall(4))).status).toBe(404);
  });
});
