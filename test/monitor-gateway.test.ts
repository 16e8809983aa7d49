/**
 * @module test/monitor-gateway.test
 * The runtime monitor in a real deployment, through both transports: the HTTP gateway (in this
 * process) and `reins mcp` over stdio (another process), each in front of the memory server from npm,
 * driven by the official SDK client, on one SQLite store. A burst pauses its session at the call that
 * crosses the bound; the finding is posted to `monitor.webhook` and counted in
 * `reins_monitor_findings_total`; the session's status is `paused` by `reins:monitor` for operators;
 * and a call of the same session through the other transport is refused too.
 */

import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Client as SdkClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createDeployment,
  type Deployment,
  MEMORY_SERVER,
  okIn,
  REINS_BIN,
} from './support/deployment-fixture.js';
import { eventually } from './support/eventually.js';
import { connectHttp, type RunningGateway, startHttpGateway, textOf } from './support/http-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: notes }
tools:
  - { server: memory, name: "*", risk: low, effects: [read] }
rules:
  - { id: notes, effect: allow, tool: { server: memory }, reason: notes are fine }
monitor:
  rules:
    - id: graph-burst
      signal: rate
      tool: { name: read_graph }
      window: 1m
      above: 3
      action: pause
      reason: the whole graph, again and again
`;

let deployment: Deployment;
let gateway: RunningGateway | undefined;
let hook: Server;
const posted: Record<string, unknown>[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      posted.push(JSON.parse(body));
      response.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const port = (hook.address() as { port: number }).port;
  deployment = createDeployment({
    policy: POLICY,
    extra: `monitor: { webhook: "http://127.0.0.1:${port}/hook" }\n`,
  });
  okIn(deployment.directory, {}, 'keys', 'generate', '--config', deployment.config);
  run('agents', 'create', 'bot', '--owner', 'olivia@example.com', '--scopes', 'memory/*');
  gateway = await startHttpGateway(deployment.config);
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await gateway?.stop();
  await new Promise((resolve) => hook.close(resolve));
  rmSync(deployment.directory, { recursive: true, force: true });
});

function run(...args: string[]): string {
  return okIn(deployment.directory, {}, ...args, '--config', deployment.config);
}

async function httpClient(sessionId: string): Promise<Client> {
  const token = run('agents', 'token', 'bot', '--session', sessionId).trim();
  const client = await connectHttp(gateway?.endpoint ?? '', token);
  clients.push(client);
  return client;
}

async function stdioClient(): Promise<Client> {
  const client = new SdkClient({ name: 'monitor-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [
        REINS_BIN,
        'mcp',
        '--config',
        deployment.config,
        '--agent',
        'bot',
        '--name',
        'memory',
        '--',
        process.execPath,
        MEMORY_SERVER,
      ],
      cwd: deployment.directory,
      env: {
        PATH: process.env.PATH ?? '',
        REINS_DATABASE_URL: '',
        MEMORY_FILE_PATH: join(deployment.directory, 'memory.jsonl'),
      },
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return client;
}

const readGraph = (client: Client, meta?: Record<string, unknown>) =>
  client.callTool({
    name: 'memory__read_graph',
    arguments: {},
    ...(meta ? { _meta: meta } : {}),
  }) as Promise<CallToolResult>;

it('pauses an HTTP session at the crossing call, posts and counts the finding, and shows the pause to operators', async () => {
  const client = await httpClient('h1');
  for (let n = 0; n < 3; n++) expect((await readGraph(client)).isError).toBeFalsy();
  const crossing = await readGraph(client);
  expect(crossing.isError).toBe(true);
  expect(textOf(crossing)).toContain('4 calls in 1m, above 3');
  const after = await client.callTool({ name: 'memory__search_nodes', arguments: { query: 'x' } });
  expect(after.isError).toBe(true);
  // refused by the session's paused status, or by the stop in the log if the status is not there yet
  expect(textOf(after)).toMatch(/is paused|an operator must resume it/);

  await eventually(() => posted.length === 1);
  expect(posted[0]).toMatchObject({
    type: 'monitor.finding',
    sessionId: 'h1',
    agentId: 'bot',
    effect: 'deny',
    findings: [{ rule: 'graph-burst', action: 'pause', observed: 4, threshold: 3 }],
  });
  const origin = new URL(gateway?.endpoint ?? '').origin;
  const metrics = await (await fetch(`${origin}/metrics`)).text();
  expect(metrics).toContain('reins_monitor_findings_total{rule="graph-burst",action="pause"} 1');
  await eventually(() => /h1\s+paused/.test(run('sessions', 'list')));
  expect(run('sessions', 'show', 'h1')).toContain('reins:monitor');
});

it('pauses a stdio session the same way, and the pause holds for its calls through HTTP', async () => {
  const client = await stdioClient();
  for (let n = 0; n < 3; n++) expect((await readGraph(client)).isError).toBeFalsy();
  const crossing = await readGraph(client);
  expect(crossing.isError).toBe(true);
  expect(textOf(crossing)).toContain('above 3');
  // the stdio process's session, as its own log names it
  const sessions = run('sessions', 'list');
  const stdioSession = /^(\S+)\s+paused/m.exec(
    sessions
      .split('\n')
      .filter((line) => !line.startsWith('h1'))
      .join('\n'),
  )?.[1];
  expect(stdioSession, sessions).toBeDefined();
  const http = await httpClient(stdioSession as string);
  const elsewhere = await readGraph(http);
  expect(elsewhere.isError).toBe(true);
});
