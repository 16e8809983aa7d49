/**
 * Attack (issue 16): server-memory's undo of create_entities is `delete_entities`, which also deletes
 * every relation that touches the names. server-memory accepts relations whose ends do not exist yet,
 * so a relation recorded before the agent's session (by another session) to a not-yet-created name is
 * deleted by the rollback of a session that merely created that entity. The other session's call is
 * older than the rolled-back one, so it is no conflict, and the profile declares the undo exact.
 * An agent that may not delete relations (a rule denies it) removes one this way: create the entity
 * the relation points at, and wait for (or provoke) a rollback.
 * Fixed: the create_entities undo captures the graph first and creates again the relations the delete would take with it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { callOk, type RollbackDeployment, startRollbackDeployment } from '../support/rollback-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback }
tools:
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

function relations(deployment: RollbackDeployment): string[] {
  return readFileSync(join(deployment.deployment.directory, 'memory.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('"type":"relation"'));
}

describe('undoing create_entities', () => {
  it('leaves relations that existed before the session alone', async () => {
    running = await startRollbackDeployment({ policy: POLICY });
    const curator = await running.connect('curator');
    await callOk(curator, 'memory__create_entities', {
      entities: [{ name: 'acme', entityType: 'customer', observations: [] }],
    });
    await callOk(curator, 'memory__create_relations', {
      relations: [{ from: 'acme', to: 'contract-2026', relationType: 'signed' }],
    });
    expect(relations(running)).toHaveLength(1);

    const agent = await running.connect('run');
    const direct = (await agent.callTool({
      name: 'memory__delete_relations',
      arguments: { relations: [{ from: 'acme', to: 'contract-2026', relationType: 'signed' }] },
    })) as CallToolResult;
    expect(direct.isError).toBe(true); // the agent may not delete it
    await callOk(agent, 'memory__create_entities', {
      entities: [{ name: 'contract-2026', entityType: 'draft', observations: [] }],
    });

    const run = running.rollback(['--session', 'run', '--reason', 'undo the agent']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(relations(running), run.stdout).toHaveLength(1);
  }, 60_000);
});
