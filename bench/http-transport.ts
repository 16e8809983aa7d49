/**
 * @module bench/http-transport
 * The floor under any Streamable HTTP gateway built on the official SDK, and what the gateway's own
 * transports (gateway/http-session-transport, gateway/http-client-transport) change in it: an MCP
 * server whose only tool answers at once, in this process, and 16 clients, also in this process,
 * calling it as fast as they can. No upstream, no Reins pipeline. Measured with
 * - the server end: the SDK's `StreamableHTTPServerTransport` answering with an SSE stream per request
 *   (its default) or a plain JSON body (`enableJsonResponse`), or the gateway's `HttpSessionTransport`
 *   (JSON when a request is answered at once, as here);
 * - the client end: the SDK's `StreamableHTTPClientTransport` (fetch) or the gateway's
 *   `HttpClientTransport` (node:http, keep-alive agent), as the gateway reaches an HTTP upstream.
 * Whatever calls/s this reaches is an upper bound for a gateway with a real upstream behind it on the
 * same machine; the CPU per call (clients and server together) is what one hop of each kind costs.
 *
 * Run: npm run bench:http-transport [-- <seconds per mode>]   (default 5)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  isInitializeRequest,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { HttpClientTransport } from '../src/gateway/http-client-transport.js';
import { HttpSessionTransport } from '../src/gateway/http-session-transport.js';
import { format, machine, summarise } from './measure.js';

const SECONDS = Number(process.argv[2] ?? 5);
const CLIENTS = 16;
const write = (line: string) => process.stdout.write(`${line}\n`);

type ServerEnd = 'sdk-sse' | 'sdk-json' | 'reins';
type ClientEnd = 'sdk' | 'reins';

const MODES: readonly { server: ServerEnd; client: ClientEnd; label: string }[] = [
  {
    server: 'sdk-sse',
    client: 'sdk',
    label: 'SDK server, SSE stream per request (default) ← SDK client (fetch)',
  },
  {
    server: 'sdk-json',
    client: 'sdk',
    label: 'SDK server, JSON body (enableJsonResponse) ← SDK client (fetch)',
  },
  {
    server: 'reins',
    client: 'sdk',
    label: 'Reins HttpSessionTransport (JSON when answered at once) ← SDK client (fetch)',
  },
  {
    server: 'sdk-sse',
    client: 'reins',
    label: 'SDK server, SSE stream per request ← Reins HttpClientTransport (node:http)',
  },
  { server: 'reins', client: 'reins', label: 'Reins HttpSessionTransport ← Reins HttpClientTransport' },
];

function floorServer(): Server {
  const server = new Server({ name: 'floor', version: '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: 'echo', inputSchema: { type: 'object' } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (call) => ({
    content: [{ type: 'text', text: `Echo: ${String(call.params.arguments?.message)}` }],
  }));
  return server;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
}

async function startServer(end: ServerEnd) {
  const sdkSessions = new Map<string, StreamableHTTPServerTransport>();
  const reinsSessions = new Map<string, HttpSessionTransport>();
  const http = createServer((request, response) => {
    void (async () => {
      const body = await readJson(request);
      const header = request.headers['mcp-session-id'];
      const id = typeof header === 'string' ? header : '';
      if (end === 'reins') {
        const session = reinsSessions.get(id);
        if (session) return session.handle(request, response, body);
      } else {
        const session = sdkSessions.get(id);
        if (session) return session.handleRequest(request, response, body);
      }
      if (!isInitializeRequest(body)) {
        response.statusCode = 400;
        return response.end();
      }
      if (end === 'reins') {
        const transport: HttpSessionTransport = new HttpSessionTransport({
          sessionId: randomUUID(),
          onInitialized: () => reinsSessions.set(transport.sessionId, transport),
        });
        await floorServer().connect(transport);
        return transport.handle(request, response, body);
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: end === 'sdk-json',
        onsessioninitialized: (sessionId) => {
          sdkSessions.set(sessionId, transport);
        },
      });
      await floorServer().connect(transport);
      await transport.handleRequest(request, response, body);
    })();
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', () => done()));
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp` };
}

function clientTransport(end: ClientEnd, url: string): Transport {
  return end === 'sdk'
    ? new StreamableHTTPClientTransport(new URL(url))
    : new HttpClientTransport(new URL(url), { maxMessageBytes: 64 * 1024 * 1024 });
}

async function load(url: string, end: ClientEnd) {
  const clients: Client[] = [];
  for (let index = 0; index < CLIENTS; index++) {
    const client = new Client({ name: 'floor-bench', version: '0.1.0' });
    await client.connect(clientTransport(end, url));
    clients.push(client);
  }
  const call = (client: Client) => client.callTool({ name: 'echo', arguments: { message: 'x' } });
  await Promise.all(
    clients.map(async (client) => {
      for (let i = 0; i < 100; i++) await call(client);
    }),
  );
  const samples: number[] = [];
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(SECONDS * 1e9);
  await Promise.all(
    clients.map(async (client) => {
      while (process.hrtime.bigint() < deadline) {
        const begun = process.hrtime.bigint();
        await call(client);
        samples.push(Number(process.hrtime.bigint() - begun) / 1_000);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(clients.map((client) => client.close()));
  return {
    callsPerSecond: samples.length / seconds,
    latency: summarise(samples),
    cpuPerCall: (cpu.user + cpu.system) / samples.length,
  };
}

write(`machine: ${machine()}`);
write(`command: npm run bench:http-transport -- ${SECONDS}`);
write(
  `inputs: ${CLIENTS} MCP clients and one MCP server (a tool that answers at once) in one process; ${SECONDS} s per mode; the modes run twice, taking turns`,
);
write('');
write(
  '| server end ← client end | round | calls/s | median µs | p99 µs | CPU µs per call (clients + server) |',
);
write('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const round of [1, 2]) {
  for (const mode of MODES) {
    const { http, url } = await startServer(mode.server);
    const result = await load(url, mode.client);
    http.closeAllConnections();
    http.close();
    write(
      `| ${mode.label} | ${round} | ${Math.round(result.callsPerSecond)} | ${format(result.latency.medianUs, 0)} | ${format(result.latency.p99Us, 0)} | ${format(result.cpuPerCall, 0)} |`,
    );
  }
}
