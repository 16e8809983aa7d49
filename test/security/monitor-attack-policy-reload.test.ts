/**
 * @module test/security/monitor-attack-policy-reload
 * Fixed: a stop is read and applied whenever the policy has a monitor section, whichever agents its rules watch now.
 *
 * A monitor stop is applied only while the policy in force has a monitor rule that watches the agent
 * (`PreparedPolicy.readsSession` → `CompiledMonitor.watches`; otherwise the harness passes no monitor
 * input and `judge` never sees the stop). A policy reload that drops or narrows the `monitor:` section
 * — e.g. to silence a noisy alert rule elsewhere — silently lifts every `hold` and every log-only
 * `pause`, with no `session.resume` on record. The stop should last until an operator resumes the
 * session, whatever the rules now say.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const CATALOGUE = `\ntools:\n  - { server: crm, name: contacts.read, risk: low, effects: [read] }\n`;
const BEFORE = policyFrom(
  `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: bulk-export, signal: rate, agents: exporter, window: 1h, above: 3, action: hold, reason: a bulk export }
`,
  { catalogue: CATALOGUE },
);
// the operator retargets the rule at a new agent family (or removes `monitor:` altogether)
const AFTER = policyFrom(
  `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: bulk-export, signal: rate, agents: "reporting-*", window: 1h, above: 3, action: hold, reason: a bulk export }
`,
  { catalogue: CATALOGUE },
);

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

const read = (n: number) => ({
  principal: { agentId: 'exporter' },
  sessionId: 's1',
  tool: { server: 'crm', name: 'contacts.read' },
  args: { n },
});

describe('a policy reload', () => {
  it('does not lift a monitor stop that no operator resumed', async () => {
    const policy = { current: BEFORE };
    const a = await world.start(policy);
    const effects: string[] = [];
    for (let n = 0; n < 4; n++) {
      world.now += 1_000;
      effects.push((await a.harness.call(read(n), ok)).decision.effect);
    }
    expect(effects).toEqual(['allow', 'allow', 'allow', 'approve']);

    policy.current = AFTER;
    world.now += 1_000;
    const next = await a.harness.call(read(99), ok);
    expect(next.decision.effect, `after the reload the stopped session's call: ${next.status}`).not.toBe(
      'allow',
    );
  });
});
