/**
 * @module test/support/trace-meta-server
 * A small MCP upstream (official SDK, low-level server) whose tool `meta` answers with the `_meta` of the
 * tools/call it received: what the tracing tests read the propagated trace context from. Over stdio when
 * run (`node --import tsx test/support/trace-meta-server.ts`); `metaServer()` builds one for any transport,
 * `startHttpMetaServer` serves it over Streamable HTTP and records the headers of each tools/call.
 */
import { createServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

export function metaServer(): Server {
  const server = new Server({ name: 'trace-meta', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'meta', description: 'Answers with the _meta of this call', inputSchema: { type: 'object' } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: JSON.stringify(request.params._meta ?? {}) }],
  }));
  return server;
}

/** The server over Streamable HTTP (stateless: a server per request); `onCall` gets each tools/call's headers. */
export async function startHttpMetaServer(
  onCall: (headers: IncomingHttpHeaders) => void,
): Promise<{ server: HttpServer; url: string }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? JSON.parse(text) : undefined;
      if (body?.method === 'tools/call') onCall(request.headers);
      const transport = new StreamableHTTPServerTransport({});
      const mcp = metaServer();
      response.on('close', () => void mcp.close());
      await mcp.connect(transport);
      await transport.handleRequest(request, response, body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp` };
}

if (process.argv[1]?.endsWith('trace-meta-server.ts')) await metaServer().connect(new StdioServerTransport());
