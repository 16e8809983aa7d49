/**
 * @module test/security/cli-operator-identity.test
 * Finding (issue 11, key custody): an operator acting through the CLI must be an authenticated user
 * with a role, not whatever `--as` says. All real: an SDK client talks to a `reins mcp` process
 * fronting server-everything on an embedded store; the policy holds its `echo` call; separate
 * `reins` processes (the built CLI) try to approve it, kill the session and suspend the agent with a
 * claimed identity, with no credential, with too small a role and with the owner's own token, and
 * finally with a user API token that may.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, present } from '../support/eventually.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

let directory: string;
let db: string;
let client: Client;
const tokens: Record<string, string> = {};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI on the test's store; `token` is given the way an operator would (REINS_TOKEN). */
function reins(args: readonly string[], token?: string): Run {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args, '--db', db], {
    cwd: directory,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '', REINS_TOKEN: token ?? '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(args: readonly string[], token?: string): string {
  const run = reins(args, token);
  if (run.code !== 0) throw new Error(`reins ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return run.stdout;
}

function tokenFile(name: string, token: string): string {
  const path = join(directory, `${name}.token`);
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

interface Approval {
  id: string;
  status: string;
  sessionId: string;
}

function approval(id: string): Approval {
  return JSON.parse(ok(['approvals', 'show', id, '--format', 'json'])) as Approval;
}

async function heldCall(message: string): Promise<{ result: Promise<unknown>; request: Approval }> {
  const result = client.callTool({ name: 'everything__echo', arguments: { message } }, undefined, {
    timeout: 60_000,
  });
  const request = await eventually(
    () => present((JSON.parse(ok(['approvals', 'list', '--format', 'json'])) as Approval[])[0], 'none yet'),
    { timeoutMs: 20_000, intervalMs: 100, what: 'an approval request' },
  );
  return { result, request };
}

/** `<actor> <action>` of every operator action; user management only when `users` is set. */
function operatorActions(users = false): string[] {
  const lines = ok(['audit', 'query', '--kind', 'operator-action', '--format', 'json']).trim().split('\n');
  return lines
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { event: { action: string; actor: { id: string } } })
    .map(({ event }) => `${event.actor.id} ${event.action}`)
    .filter((action) => users || !action.includes(' user.'));
}

function refused(run: Run, message: RegExp): void {
  expect(run.stderr).toMatch(message);
  expect(run.code).toBe(1);
}

const HOW_TO_AUTHENTICATE = /--token-file|REINS_TOKEN/;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-operator-identity-'));
  db = join(directory, 'reins.db');
  const policy = join(directory, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held-echo }
tools:
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - id: echo-needs-a-human
    effect: approve
    tool: { name: echo }
    reason: every echo is reviewed
`,
  );
  ok(['agents', 'create', 'echo-bot', '--owner', 'olivia', '--scopes', 'everything/*']);
  // the first user needs no token: nobody could hold one yet
  tokens.root = ok(['users', 'create', 'root', '--role', 'admin']).trim();
  for (const [id, role] of [
    ['olivia', 'approver'],
    ['ann', 'approver'],
    ['vic', 'viewer'],
  ] as const) {
    tokens[id] = ok(['users', 'create', id, '--role', role], tokens.root).trim();
  }
  client = await connectThroughReins({
    agent: 'echo-bot',
    policy,
    db,
    lock: join(directory, 'reins.lock'),
    name: 'everything',
    upstream: [EVERYTHING, 'stdio'],
    clientName: 'operator-identity-test',
  });
}, 60_000);

afterAll(async () => {
  await client?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('an operator acting through the CLI is an authenticated user with a role', () => {
  it('approving a held call takes a user token; a claimed identity approves nothing', async () => {
    const { result, request } = await heldCall('wire 10 EUR');
    const approve = ['approvals', 'approve', request.id, '--reason', 'ok'];

    // the attack: anyone who can run the CLI claims to be an approver
    refused(reins([...approve, '--as', 'ann', '--role', 'approver']), HOW_TO_AUTHENTICATE);
    refused(reins(approve), HOW_TO_AUTHENTICATE);
    // the owner of the agent claims to be someone else to get around separation of duties
    refused(reins([...approve, '--as', 'ann'], tokens.olivia), HOW_TO_AUTHENTICATE);
    refused(reins(approve, tokens.olivia), /separation of duties/);
    // a viewer's vote cannot count
    refused(reins(approve, tokens.vic), /holds none of the approver roles/);
    expect(approval(request.id).status).toBe('pending');

    // a real approver, from a token file
    const voted = ok([...approve, '--token-file', tokenFile('ann', tokens.ann ?? '')]);
    expect(voted).toContain('(approved)');
    expect(((await result) as CallToolResult).isError).toBeFalsy();
    expect(operatorActions()).toEqual(['ann approval.approve']);
  }, 60_000);

  it('a bad or replaced token is refused with a clear message', () => {
    const list = ['approvals', 'approve', 'no-such-request', '--reason', 'ok'];
    refused(reins(list, 'reins_u_not-a-real-token'), /unknown or revoked/);
    refused(reins([...list, '--token-file', join(directory, 'missing.token')]), /token file/);
    const replaced = tokens.ann ?? '';
    tokens.ann = ok(['users', 'rotate-token', 'ann'], tokens.root).trim();
    refused(reins(list, replaced), /unknown or revoked/);
  }, 60_000);

  it('pausing or killing a session needs the approver role, from the token', async () => {
    const { result, request } = await heldCall('again');
    const kill = ['sessions', 'kill', request.sessionId, '--reason', 'runaway'];
    refused(reins([...kill, '--as', 'ann', '--role', 'admin']), HOW_TO_AUTHENTICATE);
    refused(reins(kill, tokens.vic), /needs the approver role/);
    ok(kill, tokens.ann);
    const killed = (await result) as CallToolResult;
    expect(killed.isError).toBe(true);
    expect(operatorActions()).toEqual(['ann approval.approve', 'ann session.kill']);
  }, 60_000);

  it('suspending an agent needs the admin role and is recorded as an operator action', () => {
    const suspend = ['agents', 'suspend', 'echo-bot', '--reason', 'incident 12'];
    refused(reins([...suspend, '--by', 'sec@example.com']), HOW_TO_AUTHENTICATE);
    refused(reins(suspend), HOW_TO_AUTHENTICATE);
    refused(reins(suspend, tokens.ann), /needs the admin role/);
    expect(ok(suspend, tokens.root)).toContain('suspended');
    expect(operatorActions().at(-1)).toBe('root agent.suspend');
  }, 60_000);

  it('once a user exists, managing users needs an admin token', () => {
    refused(reins(['users', 'create', 'mallory', '--role', 'admin']), HOW_TO_AUTHENTICATE);
    refused(reins(['users', 'create', 'mallory', '--role', 'admin'], tokens.olivia), /needs the admin role/);
    refused(reins(['users', 'delete', 'root'], tokens.vic), /needs the admin role/);
    expect(ok(['users', 'list'], tokens.vic)).not.toContain('mallory');
    ok(['users', 'create', 'carol', '--role', 'viewer'], tokens.root);
    expect(operatorActions(true).filter((action) => action.endsWith('user.create'))).toEqual([
      `cli:${userInfo().username} user.create`,
      'root user.create',
      'root user.create',
      'root user.create',
      'root user.create',
    ]);
  }, 60_000);
});
