/**
 * @module test/support/trace-meta-server
 * A small MCP upstream (official SDK, low-level server) whose tool `meta` answers with the `_meta` of the
 * tools/call it received: what the tracing tests read the propagated trace context from. Over stdio when
 * run (`node --import tsx test/support/trace-meta-server.ts`); `metaServer()` builds one for any transport.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
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

if (process.argv[1]?.endsWith('trace-meta-server.ts')) await metaServer().connect(new StdioServerTransport());
