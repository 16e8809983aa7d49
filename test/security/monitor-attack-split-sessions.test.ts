/**
 * @module test/security/monitor-attack-split-sessions
 * Design limit, documented; the second test shows the mitigation (a limit per agent).
 *
 * DESIGN LIMIT (not a bug in the code as specified): windowed rules count per session (spec/monitor
 * "What a monitor rule watches, per session"), so an agent that opens a fresh session every `above`
 * calls exports as much as it likes with no finding at all — while the issue promises that "an agent
 * that suddenly starts bulk-exporting is stopped". The baseline is per agent but the observed value is
 * per session. An agent-scoped (or lineage-scoped) window would be needed for the promise to hold
 * against an agent that controls its own session ids (remote protocol, library embedding).
 *
 * Kept as a design limit (decision 0027, docs/monitoring.md "What it does not do"): what stops a burst
 * across sessions is a `limits:` rule `per: [agent]`, counted atomically in the store; the second test
 * shows it does.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const policy: { current: PreparedPolicy } = {
  current: policyFrom(
    `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: bulk-export, signal: rate, window: 1m, above: 5, action: suspend, reason: a bulk export }
`,
    { catalogue: `\ntools:\n  - { server: crm, name: contacts.read, risk: low, effects: [read] }\n` },
  ),
};

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

describe('a burst split over sessions (design limit)', () => {
  it('is not seen by a per-session window: 100 reads over 20 sessions raise nothing', async () => {
    const a = await world.start(policy);
    let ran = 0;
    for (let n = 0; n < 100; n++) {
      world.now += 500;
      const result = await a.harness.call(
        {
          principal: { agentId: 'exporter' },
          sessionId: `s-${Math.floor(n / 5)}`,
          tool: { server: 'crm', name: 'contacts.read' },
          args: { page: n },
        },
        ok,
      );
      if (result.status === 'ok') ran++;
    }
    const findings = (await world.intents()).flatMap((intent) => intent.monitor ?? []);
    expect(findings, `${ran} of 100 reads ran over 20 sessions`).toEqual([]);
    expect(ran).toBe(100);
  });

  it('is stopped by a limit per agent, which counts across sessions', async () => {
    const limited = {
      current: policyFrom(
        `
rules:
  - { id: everything, effect: allow, reason: reads are fine }
limits:
  - { id: reads-per-agent, per: [agent], window: 1m, max: 20, reason: at most 20 reads a minute per agent }
`,
        { catalogue: `\ntools:\n  - { server: crm, name: contacts.read, risk: low, effects: [read] }\n` },
      ),
    };
    const a = await world.start(limited);
    let ran = 0;
    for (let n = 0; n < 100; n++) {
      world.now += 500;
      const result = await a.harness.call(
        {
          principal: { agentId: 'exporter' },
          sessionId: `s-${Math.floor(n / 5)}`,
          tool: { server: 'crm', name: 'contacts.read' },
          args: { page: n },
        },
        ok,
      );
      if (result.status === 'ok') ran++;
    }
    expect(ran).toBe(20);
  });
});
