/**
 * @module test/support/env-server
 * A small MCP server over stdio for the security tests: `env` reports the environment it was started
 * with (what an upstream could read and exfiltrate), `select` and `drop` stand in for a harmless and a
 * dangerous tool of the same server.
 * Usage: node --import tsx test/support/env-server.ts
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const server = new McpServer({ name: 'env', version: '1.0.0' });
server.registerTool('env', { description: 'Reports the environment of this process' }, async () => ({
  content: [{ type: 'text', text: JSON.stringify(process.env) }],
}));
server.registerTool('select', { description: 'Reads rows' }, async () => ({
  content: [{ type: 'text', text: 'selected' }],
}));
server.registerTool('drop', { description: 'Drops the table' }, async () => ({
  content: [{ type: 'text', text: 'dropped' }],
}));
await server.connect(new StdioServerTransport());
