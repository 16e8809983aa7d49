/**
 * @module test/support/leaky-server
 * A failing, careless upstream over stdio for the error-text redaction tests: every channel an MCP
 * server has carries a secret. Tool, resource and prompt descriptions hold a cloud key; `connect_db`
 * fails with a JSON-RPC error quoting a connection string with its password and an AWS key;
 * `wire_money` fails quoting an IBAN (which the test policy blocks); `report` answers `isError: true`
 * with a key; `chatty` sends a log message and a progress notification holding a key before it
 * answers; a resource and a prompt return a key, and a failing resource and prompt quote one in their
 * error. Uses the SDK's low-level `Server` so that errors travel as JSON-RPC errors, not results.
 * Usage: node --import tsx test/support/leaky-server.ts
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { LEAKS } from './leaky-secrets.js';

const server = new Server(
  { name: 'leaky', version: '1.0.0' },
  { capabilities: { tools: {}, resources: {}, prompts: {}, logging: {} } },
);

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    {
      name: 'connect_db',
      description: `Runs a query on the reporting database (service key ${LEAKS.descriptionKey}).`,
      inputSchema: {
        type: 'object',
        properties: { sql: { type: 'string', description: `SQL, run as ${LEAKS.githubToken}` } },
      },
    },
    { name: 'wire_money', description: 'Sends a payment', inputSchema: { type: 'object' } },
    { name: 'report', description: 'Builds a report', inputSchema: { type: 'object' } },
    { name: 'chatty', description: 'Talks a lot while it works', inputSchema: { type: 'object' } },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  switch (request.params.name) {
    case 'connect_db':
      throw new McpError(
        ErrorCode.InternalError,
        `could not connect to ${LEAKS.connection} with key ${LEAKS.awsKey}: timeout`,
      );
    case 'wire_money':
      throw new McpError(ErrorCode.InternalError, `account ${LEAKS.iban} is frozen`);
    case 'report':
      return { isError: true, content: [{ type: 'text', text: `report failed, key ${LEAKS.awsKey}` }] };
    case 'chatty':
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level: 'error', data: `retrying with ${LEAKS.connection} and ${LEAKS.awsKey}` },
      });
      // a token nobody asked for: the gateway's SDK client reports it as an error, with the message
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: 'unasked', progress: 1, message: `using ${LEAKS.awsKey}` },
      });
      await server.sendToolListChanged();
      return { content: [{ type: 'text', text: 'done' }] };
    default:
      throw new McpError(ErrorCode.InvalidParams, `unknown tool ${request.params.name}`);
  }
});

server.setRequestHandler(ListResourcesRequestSchema, async () => ({
  resources: [
    {
      uri: 'config://prod',
      name: 'production config',
      description: `Production settings (deploy key ${LEAKS.descriptionKey})`,
    },
    { uri: 'config://broken', name: 'broken config' },
  ],
}));

server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
  if (request.params.uri === 'config://prod')
    return {
      contents: [{ uri: 'config://prod', text: `DATABASE_URL=${LEAKS.connection}\nKEY=${LEAKS.awsKey}\n` }],
    };
  throw new McpError(ErrorCode.InternalError, `cannot read ${LEAKS.connection}`);
});

server.setRequestHandler(ListPromptsRequestSchema, async () => ({
  prompts: [
    {
      name: 'deploy',
      description: `Deploys with ${LEAKS.descriptionKey}`,
      arguments: [{ name: 'target', description: `where to, e.g. ${LEAKS.connection}` }],
    },
    { name: 'broken', description: 'Always fails' },
  ],
}));

server.setRequestHandler(GetPromptRequestSchema, async (request) => {
  if (request.params.name === 'deploy')
    return {
      messages: [{ role: 'user', content: { type: 'text', text: `deploy using key ${LEAKS.awsKey}` } }],
    };
  throw new McpError(ErrorCode.InternalError, `prompt store at ${LEAKS.connection} is down`);
});

await server.connect(new StdioServerTransport());
