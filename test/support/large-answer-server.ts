/**
 * @module test/support/large-answer-server
 * An MCP server over stdio whose answers are large: `large` answers at once with `size` characters (a
 * tool that returns a file, a query's rows), so that a short request gets megabytes back; `write`
 * answers `written` (a policy holds it for approval). For the tests of what the gateway keeps for a
 * client that does not read its answers.
 * Usage: node --import tsx test/support/large-answer-server.ts
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'large', version: '1.0.0' });
server.registerTool(
  'large',
  { description: 'Answers with `size` characters', inputSchema: { size: z.number().int().nonnegative() } },
  async ({ size }) => ({ content: [{ type: 'text', text: 'x'.repeat(size) }] }),
);
server.registerTool('write', { description: 'Writes something' }, async () => ({
  content: [{ type: 'text', text: 'written' }],
}));
await server.connect(new StdioServerTransport());
