/**
 * @module test/rollback-memory.test
 * Issue 16, end to end with the real server-memory from npm behind a real `reins gateway`: an agent
 * session creates entities and relations, adds observations, deletes an entity that had relations and
 * observations, deletes a relation and observations; `reins rollback --session` (its own process)
 * restores the knowledge graph to what it was before the session, compared as sets (entities with
 * their observations, relations); `--to` keeps the named call. The same through a deployment whose
 * policy has a `memory:` section (the memory guard: names stored under the tenant's prefix, reads
 * scoped by labels): the agent sees again what it saw, and the file holds what it held (no name
 * prefixed twice, another tenant's entries untouched).
 */
import { appendFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  callOk,
  type GraphSets,
  graphSets,
  memoryFileGraph,
  ROLLBACK_POLICY,
  type RollbackDeployment,
  startRollbackDeployment,
} from './support/rollback-deployment.js';

let running: RollbackDeployment | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** The team's notes before the agent's session: three entities, three relations. */
async function seed(agent: Client): Promise<void> {
  await callOk(agent, 'memory__create_entities', {
    entities: [
      { name: 'ops-team', entityType: 'team', observations: ['on call weekly', 'uses the pager'] },
      { name: 'pager', entityType: 'tool', observations: ['pagerduty'] },
      { name: 'runbook', entityType: 'doc', observations: ['step 1: page ops', 'step 2: check dashboards'] },
    ],
  });
  await callOk(agent, 'memory__create_relations', {
    relations: [
      { from: 'ops-team', to: 'pager', relationType: 'uses' },
      { from: 'runbook', to: 'pager', relationType: 'describes' },
      { from: 'ops-team', to: 'runbook', relationType: 'maintains' },
    ],
  });
}

/**
 * A bad multi-step change to the notes. Returns the graph (as `read`) right after the third call (the
 * `--to` point). Some calls partly change nothing (an entity or observation that exists already): their
 * undo must leave those alone.
 */
async function badChange(agent: Client, read: () => Promise<GraphSets>): Promise<GraphSets> {
  await callOk(agent, 'memory__create_entities', {
    entities: [
      { name: 'deploy-bot', entityType: 'agent', observations: ['created by the bad run'] },
      { name: 'db', entityType: 'service', observations: ['postgres 16'] },
      { name: 'pager', entityType: 'tool', observations: ['pagerduty'] }, // exists: not created
    ],
  });
  await callOk(agent, 'memory__create_relations', {
    relations: [
      { from: 'deploy-bot', to: 'db', relationType: 'manages' },
      { from: 'ops-team', to: 'deploy-bot', relationType: 'owns' },
      { from: 'ops-team', to: 'pager', relationType: 'uses' }, // exists: not created
    ],
  });
  await callOk(agent, 'memory__add_observations', {
    observations: [
      { entityName: 'ops-team', contents: ['renamed to sre', 'uses the pager'] }, // the second exists
      { entityName: 'db', contents: ['primary in eu'] },
      { entityName: 'pager', contents: ['deprecated'] },
    ],
  });
  const kept = await read();
  // an entity with relations (to and from it, one made in this session) and observations
  await callOk(agent, 'memory__delete_entities', { entityNames: ['ops-team'] });
  await callOk(agent, 'memory__delete_relations', {
    relations: [{ from: 'runbook', to: 'pager', relationType: 'describes' }],
  });
  await callOk(agent, 'memory__delete_observations', {
    deletions: [
      { entityName: 'runbook', observations: ['step 1: page ops'] },
      { entityName: 'pager', observations: ['pagerduty', 'deprecated'] },
    ],
  });
  return kept;
}

/** What the agent sees of the graph (through the gateway, and the memory guard if there is one). */
async function seen(agent: Client): Promise<GraphSets> {
  const result = await callOk(agent, 'memory__read_graph', {});
  return graphSets(result.structuredContent as unknown as Parameters<typeof graphSets>[0]);
}

function intents(deployment: RollbackDeployment, session: string): { decisionId: string; tool: string }[] {
  return deployment
    .records<{ decisionId: string; tool: { server: string; name: string } }>(session, 'call-intent')
    .map((event) => ({ decisionId: event.decisionId, tool: `${event.tool.server}/${event.tool.name}` }));
}

const GUARDED_POLICY = `${ROLLBACK_POLICY}memory:
  servers: memory
  share: tenant
`;

describe('rollback through the real gateway and server-memory', () => {
  it('restores the knowledge graph as it was before the session, and undoes nothing twice', async () => {
    running = await startRollbackDeployment();
    const deployment = running;
    await seed(await running.connect('setup'));
    const before = memoryFileGraph(running.memoryFile);
    expect(Object.keys(before.entities)).toHaveLength(3);
    const agent = await running.connect('bad-notes');
    await badChange(agent, async () => memoryFileGraph(deployment.memoryFile));
    expect(memoryFileGraph(running.memoryFile)).not.toEqual(before);

    const run = running.rollback(['--session', 'bad-notes', '--reason', 'the agent mangled the notes']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/6 undone/);
    expect(memoryFileGraph(running.memoryFile)).toEqual(before);

    const again = running.rollback(['--session', 'bad-notes', '--reason', 'once more']);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/0 undone/);
    expect(memoryFileGraph(running.memoryFile)).toEqual(before);
  }, 120_000);

  it('--to keeps the named call and what came before it', async () => {
    running = await startRollbackDeployment();
    const deployment = running;
    await seed(await running.connect('setup'));
    const agent = await running.connect('partial-notes');
    const kept = await badChange(agent, async () => memoryFileGraph(deployment.memoryFile));
    const calls = intents(running, 'partial-notes');
    expect(calls.map((call) => call.tool)).toEqual([
      'memory/create_entities',
      'memory/create_relations',
      'memory/add_observations',
      'memory/delete_entities',
      'memory/delete_relations',
      'memory/delete_observations',
    ]);
    const to = calls[2]?.decisionId as string;

    const plan = running.rollback(['--session', 'partial-notes', '--to', to, '--dry-run']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('memory/delete_entities');
    expect(plan.stdout).not.toContain('memory/add_observations');

    const run = running.rollback([
      '--session',
      'partial-notes',
      '--to',
      to,
      '--reason',
      'keep the additions',
    ]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(run.stdout).toMatch(/3 undone/);
    expect(memoryFileGraph(running.memoryFile)).toEqual(kept);
  }, 120_000);

  it('restores what the agent sees through the memory guard, under its tenant, leaving other tenants alone', async () => {
    running = await startRollbackDeployment({ policy: GUARDED_POLICY, agentRoles: 'tenant:acme' });
    // another tenant's entry of the same name, in the file (the guard never shows it to acme)
    appendFileSync(
      running.memoryFile,
      `${JSON.stringify({ type: 'entity', name: 'globex/ops-team', entityType: 'team', observations: ['theirs'] })}\n`,
    );
    await seed(await running.connect('setup'));
    const viewer = await running.connect('look');
    const before = await seen(viewer);
    expect(Object.keys(before.entities)).toEqual(['ops-team (team)', 'pager (tool)', 'runbook (doc)']);
    const stored = memoryFileGraph(running.memoryFile);
    expect(Object.keys(stored.entities)).toContain('acme/ops-team (team)');
    expect(Object.keys(stored.entities)).toContain('globex/ops-team (team)');

    const agent = await running.connect('bad-notes');
    const kept = await badChange(agent, () => seen(viewer));
    expect(kept.relations).toContain('ops-team -owns-> deploy-bot');
    expect(await seen(viewer)).not.toEqual(before);

    const run = running.rollback(['--session', 'bad-notes', '--reason', 'the agent mangled the notes']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(await seen(viewer)).toEqual(before);
    expect(memoryFileGraph(running.memoryFile)).toEqual(stored);
  }, 120_000);
});
