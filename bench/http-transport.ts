/**
 * @module bench/http-transport
 * The floor under any Streamable HTTP gateway built on the official SDK: an SDK server whose only tool
 * answers at once, in this process, and 16 official SDK clients, also in this process, calling it as
 * fast as they can. No upstream, no Reins. Measured both ways the SDK's server transport can answer a
 * request: an SSE stream per request (the default) and a plain JSON body (`enableJsonResponse`).
 * Whatever calls/s this reaches is an upper bound for a gateway with a real upstream behind it on
 * the same machine.
 *
 * Run: npm run bench:http-transport [-- <seconds per mode>]   (default 5)
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  isInitializeRequest,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { format, machine, summarise } from './measure.js';

const SECONDS = Number(process.argv[2] ?? 5);
const CLIENTS = 16;
const write = (line: string) => process.stdout.write(`${line}\n`);

async function startServer(enableJsonResponse: boolean) {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const header = request.headers['mcp-session-id'];
      const session = sessions.get(typeof header === 'string' ? header : '');
      if (session) return session.handleRequest(request, response, body);
      if (!isInitializeRequest(body)) {
        response.statusCode = 400;
        return response.end();
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse,
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      const server = new Server({ name: 'floor', version: '0.1.0' }, { capabilities: { tools: {} } });
      server.setRequestHandler(ListToolsRequestSchema, async () => ({
        tools: [{ name: 'echo', inputSchema: { type: 'object' } }],
      }));
      server.setRequestHandler(CallToolRequestSchema, async (call) => ({
        content: [{ type: 'text', text: `Echo: ${String(call.params.arguments?.message)}` }],
      }));
      await server.connect(transport);
      await transport.handleRequest(request, response, body);
    })();
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', () => done()));
  return { http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp` };
}

async function load(url: string) {
  const clients: Client[] = [];
  for (let index = 0; index < CLIENTS; index++) {
    const client = new Client({ name: 'floor-bench', version: '0.1.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
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
  `inputs: ${CLIENTS} SDK clients and one SDK server (a tool that answers at once) in one process; ${SECONDS} s per mode; modes run twice, alternating`,
);
write('');
write(
  '| server transport answers with | calls/s | median µs | p99 µs | CPU µs per call (clients + server) |',
);
write('| --- | ---: | ---: | ---: | ---: |');
for (const round of [1, 2]) {
  for (const json of [false, true]) {
    const { http, url } = await startServer(json);
    const result = await load(url);
    http.closeAllConnections();
    http.close();
    write(
      `| ${json ? 'JSON body (enableJsonResponse)' : 'SSE stream (default)'}, round ${round} | ${Math.round(result.callsPerSecond)} | ${format(result.latency.medianUs, 0)} | ${format(result.latency.p99Us, 0)} | ${format(result.cpuPerCall, 0)} |`,
    );
  }
}
