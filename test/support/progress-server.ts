/**
 * @module test/support/progress-server
 * A careless long-running MCP upstream over stdio (official SDK, low-level server) for the progress
 * relay tests. Its tool `work` answers after sending, on the caller's progress token, the steps the
 * test expects to reach the client and some it must not pass on as they are:
 *   1/4 "connecting with <AWS key>"     (the key must reach the client redacted)
 *   2/4 "paying <IBAN>"                 (the policy blocks IBANs: the message must be dropped)
 *   1/4 "rewound"                       (progress must increase: this one must be dropped)
 *   3/4 "step 3", 4/4 "step 4"
 * plus a field of its own in each notification (`leak`, holding the key), which must not be passed on.
 * Its tool `slow` sends progress every 100 ms for `seconds` (an argument) and then answers.
 * Usage: node --import tsx test/support/progress-server.ts
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { LEAKS } from './leaky-secrets.js';

const STEPS: readonly { progress: number; message: string }[] = [
  { progress: 1, message: `connecting with ${LEAKS.awsKey}` },
  { progress: 2, message: `paying ${LEAKS.iban}` },
  { progress: 1, message: 'rewound' },
  { progress: 3, message: 'step 3' },
  { progress: 4, message: 'step 4' },
];

const server = new Server({ name: 'progress', version: '1.0.0' }, { capabilities: { tools: {} } });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: 'work', description: 'Works in four steps', inputSchema: { type: 'object' } },
    {
      name: 'slow',
      description: 'Works for a while, saying so',
      inputSchema: { type: 'object', properties: { seconds: { type: 'number' } } },
    },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const progressToken = request.params._meta?.progressToken;
  const tell = async (progress: number, message: string, total?: number) => {
    if (progressToken === undefined) return;
    await extra.sendNotification({
      method: 'notifications/progress',
      params: {
        progressToken,
        progress,
        ...(total === undefined ? {} : { total }),
        message,
        leak: LEAKS.awsKey,
      },
    });
  };
  if (request.params.name === 'slow') {
    const seconds = Number(request.params.arguments?.seconds ?? 1);
    for (let tick = 1; tick <= seconds * 10; tick++) {
      await new Promise((wait) => setTimeout(wait, 100));
      await tell(tick, `tick ${tick}`);
    }
    return { content: [{ type: 'text', text: 'slow done' }] };
  }
  for (const step of STEPS) {
    await tell(step.progress, step.message, 4);
    // apart in time, so that each is its own message on every transport
    await new Promise((wait) => setTimeout(wait, 20));
  }
  return {
    content: [
      { type: 'text', text: `worked, progress token ${progressToken === undefined ? 'absent' : 'present'}` },
    ],
  };
});

await server.connect(new StdioServerTransport());
