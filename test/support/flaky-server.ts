/**
 * @module test/support/flaky-server
 * An MCP server over stdio for gateway robustness tests: `echo` works, `hang` never answers, `crash`
 * kills the process, `slow` says on stderr that it started and waits 10 s unless the call is cancelled (and then says so),
 * `shout` writes a megabyte to stderr before it answers.
 * Usage: node --import tsx test/support/flaky-server.ts
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'flaky', version: '1.0.0' });
server.registerTool(
  'echo',
  { description: 'Echoes the text', inputSchema: { text: z.string() } },
  async ({ text }) => ({
    content: [{ type: 'text', text }],
  }),
);
server.registerTool('hang', { description: 'Never answers' }, () => new Promise(() => {}));
server.registerTool('crash', { description: 'Stops the server' }, () => process.exit(3));
server.registerTool('shout', { description: 'Writes a megabyte to stderr, then answers' }, async () => {
  const line = `${'x'.repeat(1023)}\n`;
  for (let count = 0; count < 1024; count++) process.stderr.write(line);
  return { content: [{ type: 'text', text: 'shouted' }] };
});
server.registerTool('slow', { description: 'Takes ten seconds' }, async (extra) => {
  process.stderr.write('slow call started\n');
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 10_000);
    extra.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      process.stderr.write('slow call cancelled\n');
      resolve();
    });
  });
  return { content: [{ type: 'text', text: 'finished' }] };
});
await server.connect(new StdioServerTransport());
