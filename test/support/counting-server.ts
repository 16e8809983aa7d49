/**
 * @module test/support/counting-server
 * An MCP server over stdio that records every tool execution: for the fuzz tests, which must know
 * whether a call reached an upstream without trusting what the gateway says. Each `tools/call` appends
 * one JSON line `{ label, tool, args }` to the file named on the command line before it answers.
 * It lists the awkward tool names of counting-tools.ts so that name tricks have real targets. Usage: node --import tsx test/support/counting-server.ts <file> <label>
 */
import { appendFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { COUNTING_TOOLS } from './counting-tools.js';

async function main(file: string, label: string): Promise<void> {
  // the low-level server accepts any tool name (the high-level one warns about unusual ones)
  const server = new Server({ name: `counting-${label}`, version: '1.0.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: COUNTING_TOOLS.map((name) => ({
      name,
      description: 'Records that it ran',
      inputSchema: { type: 'object' as const },
    })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const { name, arguments: args } = request.params;
    appendFileSync(file, `${JSON.stringify({ label, tool: name, args: args ?? {} })}\n`);
    return { content: [{ type: 'text', text: `ran ${name}` }] };
  });
  await server.connect(new StdioServerTransport());
}

const [file, label = 'counting'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: counting-server.ts <file> <label>');
await main(file, label);
