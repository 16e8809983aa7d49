/**
 * @module test/security/monitor-attack-delegated-sessions
 * Fixed: a session inherits the most severe stop of the sessions it was delegated from (harness monitorInput).
 *
 * Attack: carry on in a delegated child session. A monitor stop is read from the session's own
 * projection only (harness `stateFromProjections`: `own.activity.stop`), never from the sessions it
 * was delegated from (`principal.parentSessions`), though the harness does stop a child whose parent
 * session is paused or killed *by status*. So:
 * - a `hold` (which changes no status) is escaped by delegating the rest of the task to a child
 *   session: the child's calls run unheld;
 * - a `pause` that only the log knows (the listener failed or none is wired — the case the pipeline
 *   test calls "refuses a stopped session when only the log knows") is escaped the same way, while
 *   the same pause carried out through oversight does stop the child. The stop's reach depends on
 *   whether a best-effort side effect landed.
 * Each child also gets a fresh window, so bursts split over children never cross a per-session bound
 * (per-session rules are by design; a lineage- or agent-scoped rule would be needed).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { eventually } from '../support/eventually.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const policyWith = (action: string): { current: PreparedPolicy } => ({
  current: policyFrom(
    `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - id: bulk-export
      signal: rate
      window: 1h
      above: 3
      action: ${action}
      reason: a bulk export
`,
    { catalogue: `\ntools:\n  - { server: crm, name: contacts.read, risk: low, effects: [read] }\n` },
  ),
});

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

const read = (sessionId: string, n: number, parentSessions: string[] = []) => ({
  principal: { agentId: 'exporter', parentSessions },
  sessionId,
  tool: { server: 'crm', name: 'contacts.read' },
  args: { n },
});

async function burst(harness: World['processes'][number]['harness'], sessionId: string) {
  const effects: string[] = [];
  for (let n = 0; n < 4; n++) {
    world.now += 1_000;
    effects.push((await harness.call(read(sessionId, n), ok)).decision.effect);
  }
  return effects;
}

describe('a stopped session’s delegated children', () => {
  it('a held session’s child is held too', async () => {
    const a = await world.start(policyWith('hold'));
    expect(await burst(a.harness, 'parent')).toEqual(['allow', 'allow', 'allow', 'approve']);
    world.now += 1_000;
    const child = await a.harness.call(read('parent/child-1', 0, ['parent']), ok);
    expect(child.decision.effect, `child of a held session: ${child.status}`).toBe('approve');
  });

  it('(control) a pause carried out through oversight stops the child', async () => {
    const a = await world.start(policyWith('pause'));
    expect(await burst(a.harness, 'parent')).toEqual(['allow', 'allow', 'allow', 'deny']);
    await eventually(async () => (await world.oversight.getSession('parent'))?.status === 'paused');
    await eventually(async () => {
      world.now += 1;
      return (await a.harness.call(read('parent/child-1', 0, ['parent']), ok)).status === 'denied';
    });
  });

  it('a pause only the log knows stops the child too', async () => {
    const a = await world.start(policyWith('pause'), { listener: false });
    expect(await burst(a.harness, 'parent')).toEqual(['allow', 'allow', 'allow', 'deny']);
    // the parent itself stays stopped by the log
    world.now += 1_000;
    expect((await a.harness.call(read('parent', 9), ok)).status).toBe('denied');
    world.now += 1_000;
    const child = await a.harness.call(read('parent/child-1', 0, ['parent']), ok);
    expect(child.status, 'child of a session the monitor paused (log only)').toBe('denied');
  });
});
