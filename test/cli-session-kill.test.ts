/**
 * @module test/cli-session-kill.test
 * Operators kill (or pause) sessions they expect to start (issue 12): `reins sessions kill <id>` of a
 * session that has made no call yet used to be refused as unknown. It now creates the session in that
 * state, and the pipeline refuses its first call. End to end: the built CLI acts on a deployment, the
 * real HTTP gateway (in this process) fronts the memory server from npm, and an official SDK client
 * calls with a credential bound to the killed session.
 */
import { rmSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeployment, type Deployment, okIn, reinsIn } from './support/deployment-fixture.js';
import { connectHttp, type RunningGateway, startHttpGateway, textOf } from './support/http-gateway.js';

let deployment: Deployment;
/** The deployment's store and keys, named by flags. */
let store: string[];
let approver: string;
let gateway: RunningGateway | undefined;
const clients: Client[] = [];

beforeAll(() => {
  deployment = createDeployment();
  store = ['--db', deployment.db, '--credential-keys', deployment.credentialKeys];
  okIn(deployment.directory, {}, 'keys', 'generate', '--config', deployment.config);
  run('agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*');
  const admin = run('users', 'create', 'root@example.com', '--role', 'admin').trim();
  approver = reinsIn(
    deployment.directory,
    { REINS_TOKEN: admin },
    'users',
    'create',
    'ann@example.com',
    '--role',
    'approver',
    '--db',
    deployment.db,
  ).stdout.trim();
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => {});
  await gateway?.stop();
  rmSync(deployment.directory, { recursive: true, force: true });
});

function run(...args: string[]): string {
  return okIn(deployment.directory, {}, ...args, '--db', deployment.db);
}

function asApprover(...args: string[]) {
  return reinsIn(deployment.directory, { REINS_TOKEN: approver }, ...args, '--db', deployment.db);
}

async function firstCall(sessionId: string): Promise<CallToolResult> {
  const token = okIn(
    deployment.directory,
    {},
    'agents',
    'token',
    'bot',
    '--session',
    sessionId,
    ...store,
  ).trim();
  const client = await connectHttp(gateway?.endpoint ?? '', token);
  clients.push(client);
  return (await client.callTool({ name: 'memory__read_graph', arguments: {} })) as CallToolResult;
}

it('kills and pauses sessions that have not started; their first calls are refused', async () => {
  const killed = asApprover('sessions', 'kill', 'planned-1', '--reason', 'this run must not start');
  expect(killed.stderr).toBe('');
  expect(killed.stdout).toMatch(/^planned-1 +killed/);
  expect(killed.code).toBe(0);
  expect(asApprover('sessions', 'pause', 'planned-2', '--reason', 'wait for the review').code).toBe(0);
  // resuming a session nobody has seen means nothing: still refused as unknown
  const resumed = asApprover('sessions', 'resume', 'planned-3', '--reason', 'go');
  expect(resumed.stderr).toContain('unknown session `planned-3`');
  expect(resumed.code).not.toBe(0);

  gateway = await startHttpGateway(deployment.config);
  const refused = await firstCall('planned-1');
  expect(refused.isError).toBe(true);
  expect(textOf(refused)).toContain('session `planned-1` is killed');
  const held = await firstCall('planned-2');
  expect(held.isError).toBe(true);
  expect(textOf(held)).toContain('session `planned-2` is paused');
  const other = await firstCall('unplanned');
  expect(other.isError).toBeFalsy();

  // the record names the agent once the session has shown up, and the denial is on record
  const sessions = JSON.parse(run('sessions', 'list', '--format', 'json'));
  expect(sessions).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        id: 'planned-1',
        status: 'killed',
        agentId: 'bot',
        changedBy: 'ann@example.com',
      }),
    ]),
  );
  const intents = run('audit', 'query', '--session', 'planned-1', '--format', 'json');
  expect(intents).toContain('reins.session-killed');
}, 60_000);
