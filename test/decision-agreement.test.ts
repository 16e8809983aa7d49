/**
 * @module test/decision-agreement.test
 * Every decision in the product goes through one entry point (policy/decide-call), so the gateway, the
 * decide API and `reins decide` agree — end to end, on one deployment run by the built `reins serve`
 * (the real memory server from npm upstream, the official SDK client with an agent credential):
 * - a call the redaction policy blocks (a secret in an argument) is `deny` by `reins.redaction` in all
 *   three, where the dry runs used to say `allow`;
 * - a call a sequence rule denies in a live session is `deny` in all three once the session has done
 *   what the rule forbids, and the dry runs read that session's history without changing it; a session
 *   the log has never seen starts fresh (decision 0009).
 * Then `reins policy diff` on the traffic the gateway recorded: the same policy changes nothing, a
 * candidate that forbids one tool lists exactly the calls of that tool it would now refuse.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, type Deployment, okIn, REINS_BIN, reinsIn } from './support/deployment-fixture.js';
import { connectHttp, textOf } from './support/http-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: notes }
tools:
  - { server: memory, name: read_graph, risk: low, effects: [read] }
  - { server: memory, name: search_nodes, risk: low, effects: [read] }
  - { server: memory, name: create_entities, risk: medium, effects: [write] }
  - { server: memory, name: delete_entities, risk: high, effects: [write] }
rules:
  - { id: notes, effect: allow, tool: { server: memory }, reason: notes are fine }
sequences:
  - id: no-delete-after-search
    tool: { name: delete_entities }
    forbids: { tool: { name: search_nodes } }
    reason: nothing is deleted once the session has searched
redaction:
  inputs: { secret: block }
`;
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const SESSION = 'agreement-session';

let deployment: Deployment;
let serve: ChildProcess | undefined;
let controlUrl = '';
let gatewayUrl = '';
let userToken = '';
let agentToken = '';
let client: Client;

beforeAll(async () => {
  deployment = createDeployment({ policy: POLICY });
  const run = (...args: string[]) => okIn(deployment.directory, {}, ...args);
  run('keys', 'generate', '--config', deployment.config);
  run('agents', 'create', 'bot', '--owner', 'olivia', '--scopes', 'memory/*', '--config', deployment.config);
  agentToken = run('agents', 'token', 'bot', '--session', SESSION, '--config', deployment.config).trim();
  userToken = run(
    'users',
    'create',
    'root@example.com',
    '--role',
    'admin',
    '--config',
    deployment.config,
  ).trim();
  serve = spawn(process.execPath, [REINS_BIN, 'serve', '--config', deployment.config], {
    cwd: deployment.directory,
    env: { ...process.env, REINS_DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      output.push(chunk.toString());
      const text = output.join('');
      const control = /console and API on (http:\/\/\S+?)\/ /.exec(text);
      const gateway = /MCP gateway on (http:\/\/\S+)/.exec(text);
      if (control && gateway) {
        controlUrl = control[1] as string;
        gatewayUrl = gateway[1] as string;
        resolve();
      }
    };
    serve?.stdout?.on('data', look);
    serve?.stderr?.on('data', look);
    serve?.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output.join('')}`)));
  });
  client = await connectHttp(gatewayUrl, agentToken);
  // the gateway pins what it lists; a tool is known once it has been listed
  await client.listTools();
}, 120_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  if (serve && serve.exitCode === null) {
    const exited = new Promise((resolve) => serve?.once('exit', resolve));
    serve.kill('SIGTERM');
    await exited;
  }
  rmSync(deployment.directory, { recursive: true, force: true });
});

interface DryRun {
  readonly effect: string;
  readonly decidedBy: readonly string[];
}

/** The decide API, asked by the agent itself (principal and session from its credential). */
async function apiDecide(tool: string, args: Record<string, unknown>): Promise<DryRun> {
  const response = await fetch(`${controlUrl}/v1/decide`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tool: { server: 'memory', name: tool }, args }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as DryRun;
}

/** The decide API, asked by a human about the agent's principal in a named session (a what-if). */
async function apiDecideAsHuman(tool: string, args: Record<string, unknown>): Promise<DryRun> {
  const response = await fetch(`${controlUrl}/v1/decide`, {
    method: 'POST',
    headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      principal: { agentId: 'bot', scopes: ['memory/*'], owner: 'olivia' },
      sessionId: SESSION,
      tool: { server: 'memory', name: tool },
      args,
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as DryRun;
}

/** `reins decide` on the deployment, for the agent's principal as its credential carries it. */
function cliDecide(tool: string, args: Record<string, unknown>, sessionId = SESSION): DryRun {
  const call = {
    principal: { agentId: 'bot', scopes: ['memory/*'], owner: 'olivia' },
    sessionId,
    tool: { server: 'memory', name: tool },
    args,
  };
  const output = okIn(
    deployment.directory,
    {},
    'decide',
    '--config',
    deployment.config,
    '--call',
    JSON.stringify(call),
  );
  return JSON.parse(output) as DryRun;
}

async function gatewayCall(tool: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name: `memory__${tool}`, arguments: args })) as CallToolResult;
}

function auditCount(): number {
  return okIn(
    deployment.directory,
    {},
    'audit',
    'query',
    '--config',
    deployment.config,
    '--format',
    'json',
    '--limit',
    '10000',
  )
    .trim()
    .split('\n')
    .filter(Boolean).length;
}

describe('one decision path', () => {
  it('a call the redaction policy blocks is denied alike by the gateway, the decide API and reins decide', async () => {
    const args = { entities: [{ name: 'creds', entityType: 'note', observations: [`key ${SECRET}`] }] };
    const api = await apiDecide('create_entities', args);
    const cli = cliDecide('create_entities', args);
    const result = await gatewayCall('create_entities', args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('blocked by the redaction policy');
    expect(textOf(result)).not.toContain(SECRET);
    for (const dryRun of [api, cli]) {
      expect(dryRun.effect).toBe('deny');
      expect(dryRun.decidedBy).toEqual(['reins.redaction']);
    }
  });

  it('a sequence rule denies alike once the live session has done what it forbids; dry runs change nothing', async () => {
    const deleteArgs = { entityNames: ['nothing'] };
    // before the search: allowed everywhere (the dry runs read the live session, not a fresh one)
    expect((await apiDecide('delete_entities', deleteArgs)).effect).toBe('allow');
    expect(cliDecide('delete_entities', deleteArgs).effect).toBe('allow');
    // a dry run of the search neither runs nor records it: the delete is still allowed after it
    const recordsBefore = auditCount();
    expect((await apiDecide('search_nodes', { query: 'x' })).effect).toBe('allow');
    expect(cliDecide('search_nodes', { query: 'x' }).effect).toBe('allow');
    expect(auditCount()).toBe(recordsBefore);
    expect(cliDecide('delete_entities', deleteArgs).effect).toBe('allow');

    expect((await gatewayCall('search_nodes', { query: 'x' })).isError).toBeFalsy();
    const api = await apiDecide('delete_entities', deleteArgs);
    const human = await apiDecideAsHuman('delete_entities', deleteArgs);
    const cli = cliDecide('delete_entities', deleteArgs);
    const result = await gatewayCall('delete_entities', deleteArgs);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('nothing is deleted once the session has searched');
    for (const dryRun of [api, human, cli]) {
      expect(dryRun.effect).toBe('deny');
      expect(dryRun.decidedBy).toEqual(['no-delete-after-search']);
    }
    // a session the log has never seen starts fresh
    expect(cliDecide('delete_entities', deleteArgs, 'a-new-session').effect).toBe('allow');
  });
});

describe('reins policy diff on traffic recorded through the gateway', () => {
  it('the same policy changes nothing; a candidate that forbids a tool lists exactly its calls', async () => {
    for (const name of ['alpha', 'beta']) {
      const created = await gatewayCall('create_entities', {
        entities: [{ name, entityType: 'note', observations: ['fine'] }],
      });
      expect(created.isError).toBeFalsy();
    }
    expect((await gatewayCall('read_graph', {})).isError).toBeFalsy();

    const same = reinsIn(
      deployment.directory,
      {},
      'policy',
      'diff',
      '--base',
      deployment.policy,
      '--candidate',
      deployment.policy,
      '--config',
      deployment.config,
    );
    expect(same.stderr).not.toContain('warning');
    expect(same.stdout).toMatch(/^\d+ recorded calls replayed: 0 decided differently/);
    expect(same.code).toBe(0);

    const candidate = join(deployment.directory, 'candidate.yaml');
    writeFileSync(
      candidate,
      POLICY.replace(
        'rules:\n',
        'rules:\n  - { id: no-creates, effect: deny, tool: { name: create_entities }, reason: notes are read-only now }\n',
      ),
    );
    const diff = reinsIn(
      deployment.directory,
      {},
      'policy',
      'diff',
      '--base',
      deployment.policy,
      '--candidate',
      candidate,
      '--config',
      deployment.config,
      '--json',
    );
    expect(diff.code).toBe(1);
    const report = JSON.parse(diff.stdout) as {
      changes: { decisionId: string; tool: string; base: DryRun; candidate: DryRun }[];
      byRule: Record<string, number>;
      drift: unknown[];
    };
    // exactly the creates the gateway let through (the one with a secret was refused already)
    const allowedCreates = okIn(
      deployment.directory,
      {},
      'audit',
      'query',
      '--config',
      deployment.config,
      '--kind',
      'call-intent',
      '--tool',
      'memory/create_entities',
      '--effect',
      'allow',
      '--format',
      'json',
    )
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: { decisionId: string } });
    expect(allowedCreates).toHaveLength(2);
    expect(report.changes.map((change) => change.decisionId).sort()).toEqual(
      allowedCreates.map((record) => record.event.decisionId).sort(),
    );
    expect(report.byRule).toEqual({ 'no-creates': 2 });
    expect(report.drift).toEqual([]);

    // a base that is not the policy that recorded the log cannot vouch for "no changes": exit 2
    const wrongBase = [
      'policy',
      'diff',
      '--base',
      candidate,
      '--candidate',
      candidate,
      '--config',
      deployment.config,
    ];
    const drifted = reinsIn(deployment.directory, {}, ...wrongBase);
    expect(drifted.stderr).toContain('the base does not reproduce 2 recorded decision(s)');
    expect(drifted.code).toBe(2);
    expect(reinsIn(deployment.directory, {}, ...wrongBase, '--allow-drift').code).toBe(0);
  });
});
