/**
 * Attack (issue 16): the rollback session of `S` was named `S/rollback`, and a delegated session's
 * default name is `<parent session>/<task>`. An agent in session `S` exchanges its own credential
 * (POST /v1/token, audience = itself, task = `rollback`) and works in session `S/rollback`:
 * - what it does there is recorded as reversible (no gate holds it), yet `reins rollback` refuses to
 *   undo it ("a rollback session: its compensations are not undone"), and rolling back `S` does not
 *   include it: the agent has made its changes un-undoable;
 * - the real rollback of `S` later runs its compensations in that same session, whose state the agent
 *   shaped (here: the operator kills the session where the damage shows, and the rollback of `S` can no
 *   longer run at all).
 * Fixed: rollback sessions are `reins.rollback/<S>`, a namespace the harness reserves: an ordinary
 * call there is refused whatever credential names it, and a compensation runs only in the rollback
 * session of the session it undoes. `S/rollback` is an ordinary delegated session again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { connectHttp } from '../support/http-gateway.js';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

/** The rollback test policy plus the documented "what cannot be undone needs a human" rule. */
const GATED_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "list_*", risk: low, effects: [read] }
  - { server: fs, name: get_file_info, risk: low, effects: [read] }
  - { server: fs, name: "*", risk: medium, effects: [write] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - { id: work, effect: allow, reason: the agent edits files and notes, tool: { server: [fs, memory] } }
  - id: gate-what-cannot-be-undone
    effect: approve
    reason: an action that cannot be undone needs a human
    tool: { effects: [write, external, irreversible] }
    when: "!reversal.reversible && !has(context.rollback)"
rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
    - { profile: server-memory, server: memory }
`;

let running: RollbackDeployment | undefined;
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  await running?.close();
  running = undefined;
});

async function childSession(
  deployment: RollbackDeployment,
  session: string,
  task: string,
  childSessionId?: string,
) {
  const parent = deployment.reins('agents', 'token', deployment.agentId, '--session', session).trim();
  const response = await fetch(new URL('/v1/token', deployment.gateway.endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: parent,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: deployment.agentId, // itself
      task,
      ...(childSessionId !== undefined ? { session: childSessionId } : {}),
    }).toString(),
  });
  const body = (await response.json()) as { access_token?: string };
  expect(response.status, JSON.stringify(body)).toBe(200);
  const client = await connectHttp(deployment.gateway.endpoint, body.access_token as string);
  clients.push(client);
  return client;
}

describe('an agent works in a session named like a rollback session', () => {
  it('is refused every call in the reserved rollback session, however its credential names it', async () => {
    running = await startRollbackDeployment({ policy: GATED_POLICY });
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const parent = await running.connect('job');
    await callOk(parent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    let agent: Client | undefined;
    try {
      agent = await childSession(running, 'job', 'undo', 'reins.rollback/job');
    } catch {
      // refusing to issue it at all would do as well
    }
    if (agent !== undefined) {
      const result = (await agent.callTool({
        name: 'fs__write_file',
        arguments: { path: join(work, 'config.yaml'), content: 'replicas: 9\n' },
      })) as { isError?: boolean; content: { type: string; text?: string }[] };
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toContain('reserved for rollbacks');
    }
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 0\n');
    const run = running.rollback(['--session', 'job', '--reason', 'undo the job']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 3\n');
  }, 60_000);

  it('what it does in `S/rollback` passes as reversible and can still be undone', async () => {
    running = await startRollbackDeployment({ policy: GATED_POLICY });
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\nregion: eu-west\n');
    const agent = await childSession(running, 'job', 'rollback'); // session `job/rollback`
    // not held: the policy sees a reversible write
    await callOk(agent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 0\n');

    const own = running.rollback(['--session', 'job/rollback', '--reason', 'undo the agent']);
    const parent = running.rollback(['--session', 'job', '--reason', 'undo the agent']);
    // expected: one of the two undoes the write (the agent's session is rolled back)
    expect(readFileSync(join(work, 'config.yaml'), 'utf8'), own.stderr + parent.stderr).toBe(
      'replicas: 3\nregion: eu-west\n',
    );
  }, 60_000);

  it('cannot stop the rollback of its parent session by occupying the rollback session', async () => {
    running = await startRollbackDeployment();
    const { work } = running;
    writeFileSync(join(work, 'config.yaml'), 'replicas: 3\n');
    const parent = await running.connect('job');
    await callOk(parent, 'fs__write_file', { path: join(work, 'config.yaml'), content: 'replicas: 0\n' });
    const child = await childSession(running, 'job', 'rollback');
    await callOk(child, 'fs__write_file', { path: join(work, 'scratch.txt'), content: 'junk\n' });
    // the operator stops both sessions where the agent's work shows, then rolls the job back
    running.reins('sessions', 'kill', 'job', '--reason', 'runaway agent');
    running.reins('sessions', 'kill', 'job/rollback', '--reason', 'runaway agent');
    const run = running.rollback(['--session', 'job', '--reason', 'clean up after it']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(readFileSync(join(work, 'config.yaml'), 'utf8')).toBe('replicas: 3\n');
  }, 60_000);
});
