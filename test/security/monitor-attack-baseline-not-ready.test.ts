/**
 * @module test/security/monitor-attack-baseline-not-ready
 * Fixed: new-tool and transition are deduplicated by the rule having raised at an earlier call, not by the tool having been called (a call before the baseline was learned raised nothing).
 *
 * Attack: use the never-before tool while the serving process has no baseline yet. `serve` starts the
 * baseline learning in the background (cli/monitor-wiring: `baselines.start()` is not awaited, and a
 * 30-day log takes a while to read); until it ends `of()` is undefined and every one-call signal
 * (`new-tool`, `transition`, `off-hours`) raises nothing. Worse, these signals are "raised at their
 * first occurrence in the session" by looking at the session's activity only — not at whether that
 * occurrence was judged — so once the tool has been used unjudged, the session never raises
 * `new-tool` for it, even after the baseline is there. A restart (or a policy change) is the agent's
 * window to "introduce" a tool for good.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoggedBaselines } from '../../src/inspect/monitor-baselines.js';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const policy: { current: PreparedPolicy } = {
  current: policyFrom(
    `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  baseline: { window: 7d, minCalls: 20 }
  rules:
    - { id: never-before, signal: new-tool, action: hold, reason: a tool this agent never used }
`,
    {
      catalogue: `
tools:
  - { server: crm, name: contacts.read, risk: low, effects: [read] }
  - { server: crm, name: contacts.export, risk: high, effects: [read] }
`,
    },
  ),
};

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

const call = (sessionId: string, name: string, n: number) => ({
  principal: { agentId: 'trained' },
  sessionId,
  tool: { server: 'crm', name },
  args: { n },
});

describe('one-call signals while the baseline is being learned', () => {
  it('hold the new tool once the baseline is there, even if the session used it before', async () => {
    const a = await world.start(policy);
    const start = Date.parse('2026-12-01T09:00:00Z');
    for (let day = 0; day < 5; day++)
      for (let n = 0; n < 6; n++) {
        world.now = start + day * 86_400_000 + n * 120_000;
        await a.harness.call(call(`day-${day}`, 'contacts.read', n), ok);
      }

    // a restarted process: its baselines are still being learned
    world.now = Date.parse('2026-12-07T10:05:00Z');
    const baselines = new LoggedBaselines({
      audit: a.audit,
      policy: () => policy.current,
      clock: () => world.now,
    });
    const b = await world.start(policy, { baselines });
    world.now += 1_000;
    const early = await b.harness.call(call('today', 'contacts.export', 0), ok);
    expect(early.status).toBe('ok'); // no baseline: nothing to judge against (documented)

    await baselines.refresh();
    expect(baselines.of('trained')?.tools['crm/contacts.export']).toBeUndefined();
    world.now += 1_000;
    const later = await b.harness.call(call('today', 'contacts.export', 1), ok);
    expect(
      later.decision.effect,
      'the baseline now says the agent never used crm/contacts.export, and no finding was ever raised for it',
    ).toBe('approve');
  });
});
