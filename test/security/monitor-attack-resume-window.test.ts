/**
 * @module test/security/monitor-attack-resume-window
 * Fixed: windows start again at the operator's resume (ActivityTrail.resumedAt).
 *
 * Attack: wait for the operator to resume, then burst. A windowed rule is "not raised again after a
 * call in the window raised it" (policy/monitor `windowOf` → `raisedBefore`). That call is still in
 * the window after the operator's `session.resume`, so for the rest of the window the rule is blind:
 * the agent may make any number of calls. With a 1h window, a resume five minutes after the pause
 * gives the agent 55 unmonitored minutes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { eventually } from '../support/eventually.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { OPS, ok, World } from './monitor-attack-support.js';

const POLICY = `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - id: bulk-export
      signal: rate
      window: 1h
      above: 3
      action: pause
      reason: a bulk export
`;
const CATALOGUE = `
tools:
  - { server: crm, name: contacts.read, risk: low, effects: [read] }
`;
const policy: { current: PreparedPolicy } = { current: policyFrom(POLICY, { catalogue: CATALOGUE }) };

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

describe('after an operator resumes', () => {
  it('the rule that paused the session stops the next burst in the same window', async () => {
    const a = await world.start(policy);
    const statuses: string[] = [];
    for (let n = 0; n < 4; n++) {
      world.now += 1_000;
      statuses.push((await a.harness.call(read(n), ok)).status);
    }
    expect(statuses).toEqual(['ok', 'ok', 'ok', 'denied']);
    await eventually(async () => (await world.oversight.getSession('s1'))?.status === 'paused');

    // five minutes later an operator looks and resumes (e.g. "4 reads is fine")
    world.now += 5 * 60_000;
    await world.oversight.setSessionStatus('s1', 'active', OPS, 'four reads, fine');
    await eventually(async () => {
      world.now += 1;
      return (await a.harness.call(read(100), ok)).status === 'ok';
    });

    // the agent now exports in bulk, still inside the hour
    let ran = 0;
    for (let n = 0; n < 100; n++) {
      world.now += 1_000;
      if ((await a.harness.call(read(200 + n), ok)).status === 'ok') ran++;
    }
    const findings = (await world.intents('s1')).flatMap((intent) => intent.monitor ?? []);
    expect(
      findings.length,
      `after the resume ${ran} of 100 reads ran; findings in all: ${findings.length}`,
    ).toBeGreaterThan(1);
    expect(ran).toBeLessThan(100);
  });
});
