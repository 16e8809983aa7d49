/**
 * Attack (issue 16): the remote protocol (`POST /v1/calls`, the agent runs the tool itself and reports
 * the result) records calls to the same `server/name` as the gateway's upstreams. A tool whose
 * compensation needs no capture (server-memory's create_entities, create_relations, add_observations;
 * server-filesystem's move_file) is recorded `reversible`, and the rollback builds its compensation
 * from the *agent-reported* result (or arguments) and runs it on the gateway's real upstream — a call
 * the gateway never ran.
 *
 * Here the agent may not delete notes (a rule denies delete_* except in a rollback), opens
 * `memory/create_entities` for a scratch note, never runs it, and reports a result claiming it created
 * `payroll-policy` (another session's entity). When an operator rolls the agent's session back, Reins
 * deletes `payroll-policy` from the real memory server, with no conflict reported.
 * Fixed: a tool the agent runs itself is `unavailable` (not undoable) whatever its compensation; the memory undos no longer read results.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "*", risk: medium, effects: [write] }
  - { server: memory, name: read_graph, risk: low, effects: [read] }
  - { server: memory, name: open_nodes, risk: low, effects: [read] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
rules:
  - { id: work, effect: allow, reason: the agent edits files and notes, tool: { server: [fs, memory] } }
  - id: no-deleting
    effect: deny
    reason: agents add notes; only a rollback removes them
    tool: { server: memory, name: "delete_*" }
    when: "!has(context.rollback)"
rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
    - { profile: server-memory, server: memory }
`;

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function remote(endpoint: string, token: string, path: string, body: unknown) {
  const response = await fetch(new URL(path, endpoint), {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function entityNames(deployment: RollbackDeployment): string[] {
  const file = join(deployment.deployment.directory, 'memory.jsonl');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { type: string; name?: string })
    .filter((item) => item.type === 'entity')
    .map((item) => item.name as string);
}

describe('a result the agent reported steers a compensation on the real upstream', () => {
  it("rolling back the agent's session does not delete an entity it never created", async () => {
    running = await startRollbackDeployment({ policy: POLICY });
    const curator = await running.connect('curator');
    await callOk(curator, 'memory__create_entities', {
      entities: [{ name: 'payroll-policy', entityType: 'doc', observations: ['approved by the board'] }],
    });

    // the agent itself may not delete it
    const agent = await running.connect('liar');
    const direct = (await agent.callTool({
      name: 'memory__delete_entities',
      arguments: { entityNames: ['payroll-policy'] },
    })) as CallToolResult;
    expect(direct.isError).toBe(true);
    expect(entityNames(running)).toContain('payroll-policy');

    // through the remote protocol: open a harmless create, report a result naming the victim
    const token = running.reins('agents', 'token', running.agentId, '--session', 'liar').trim();
    const opened = await remote(running.gateway.endpoint, token, '/v1/calls', {
      tool: 'memory/create_entities',
      args: { entities: [{ name: 'scratch', entityType: 'note', observations: [] }] },
    });
    expect(opened.body.status, JSON.stringify(opened.body)).toBe('ready');
    const reported = await remote(
      running.gateway.endpoint,
      token,
      `/v1/calls/${opened.body.id as string}/outcome`,
      {
        ok: true,
        result: {
          content: [{ type: 'text', text: 'created' }],
          structuredContent: { entities: [{ name: 'payroll-policy', entityType: 'doc', observations: [] }] },
        },
      },
    );
    expect(reported.body.status, JSON.stringify(reported.body)).toBe('completed');

    const run = running.rollback(['--session', 'liar', '--reason', 'the agent misbehaved']);
    // expected: the curator's entity survives a rollback of the liar's session
    expect(entityNames(running), run.stdout + run.stderr).toContain('payroll-policy');
  }, 60_000);

  it('a move the gateway never ran is not "undone" on the gateway\'s filesystem', async () => {
    running = await startRollbackDeployment({ policy: POLICY });
    const { work } = running;
    writeFileSync(join(work, 'ledger.csv'), 'the real ledger\n');
    const token = running.reins('agents', 'token', running.agentId, '--session', 'remote-run').trim();
    // the agent's own move_file (its own machine): the gateway only decides and records it
    const opened = await remote(running.gateway.endpoint, token, '/v1/calls', {
      tool: 'fs/move_file',
      args: { source: join(work, 'archive', 'old.csv'), destination: join(work, 'ledger.csv') },
    });
    expect(opened.body.status, JSON.stringify(opened.body)).toBe('ready');
    await remote(running.gateway.endpoint, token, `/v1/calls/${opened.body.id as string}/outcome`, {
      ok: true,
      result: { content: [{ type: 'text', text: 'moved' }] },
    });
    mkdirSync(join(work, 'archive'));
    const run = running.rollback(['--session', 'remote-run', '--reason', 'undo the remote agent']);
    // expected: nothing on the gateway's upstream moves (the gateway never ran that call)
    expect(existsSync(join(work, 'ledger.csv')), run.stdout).toBe(true);
  }, 60_000);
});
