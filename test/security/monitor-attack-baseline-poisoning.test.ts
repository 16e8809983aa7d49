/**
 * @module test/security/monitor-attack-baseline-poisoning
 * Fixed: the learner leaves out the call that raised a stop and every call of the session while it stayed stopped (policy/monitor-baseline).
 *
 * Attack: poison the agent's baseline with calls the monitor itself stopped. The learner counts every
 * recorded intent of the period, denied ones included, and does not leave out sessions (or calls) a
 * monitor finding stopped. So an agent that is paused at 10:05 keeps hammering its paused session
 * (every call denied, every call recorded); at 11:00 the baseline is learned again with a peak that
 * includes the whole denied burst, and `factor × peak` is now so high that, in a fresh session, the
 * same bulk export runs without a finding. The hour-boundary end of the baseline window only delays
 * this by at most an hour.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoggedBaselines } from '../../src/inspect/monitor-baselines.js';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, type Process, World } from './monitor-attack-support.js';

const POLICY = `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  baseline: { window: 7d, minCalls: 20 }
  rules:
    - id: busier-than-usual
      signal: rate
      window: 10m
      factor: 2
      action: pause
      reason: busier than this agent has ever been
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

const read = (sessionId: string, n: number) => ({
  principal: { agentId: 'trained' },
  sessionId,
  tool: { server: 'crm', name: 'contacts.read' },
  args: { n },
});

/** Five ordinary days: six reads per session, two minutes apart (peak 5 in any 10 minutes). */
async function ordinaryWeek(process: Process): Promise<void> {
  const start = Date.parse('2026-12-01T09:00:00Z');
  for (let day = 0; day < 5; day++)
    for (let n = 0; n < 6; n++) {
      world.now = start + day * 86_400_000 + n * 120_000;
      await process.harness.call(read(`day-${day}`, n), ok);
    }
}

describe('baseline poisoning with stopped calls', () => {
  it('does not learn a peak from calls the monitor stopped', async () => {
    const a = await world.start(policy);
    await ordinaryWeek(a);
    world.now = Date.parse('2026-12-07T10:05:00Z');
    const baselines = new LoggedBaselines({
      audit: a.audit,
      policy: () => policy.current,
      clock: () => world.now,
    });
    await baselines.refresh();
    expect(baselines.of('trained')?.peaks['busier-than-usual']).toBe(5);
    const b = await world.start(policy, { baselines });

    // 10:05: the burst. The eleventh read in 10 minutes crosses 2 × 5 and pauses the session ...
    const first: string[] = [];
    for (let n = 0; n < 11; n++) {
      world.now += 1_000;
      first.push((await b.harness.call(read('burst', n), ok)).status);
    }
    expect(first.at(-1)).toBe('denied');
    // ... and the agent keeps calling its paused session: every call denied, every call recorded
    for (let n = 11; n < 300; n++) {
      world.now += 100;
      await b.harness.call(read('burst', n), ok);
    }

    // 11:05: the baselines are learned again over a period that now holds the stopped burst
    world.now = Date.parse('2026-12-07T11:05:00Z');
    await baselines.refresh();
    const peak = baselines.of('trained')?.peaks['busier-than-usual'];

    // a fresh session runs the same bulk export
    const statuses: string[] = [];
    for (let n = 0; n < 200; n++) {
      world.now += 1_000;
      statuses.push((await b.harness.call(read('again', n), ok)).status);
    }
    const ran = statuses.filter((status) => status === 'ok').length;
    // Fixed: the call that raised the stop and the 289 calls of the stopped session teach the baseline
    // nothing (it learned 300 before). What it does learn is the burst's start, up to the bound it was
    // stopped at: 10 calls. So one relearn moves a peak to at most the bound (factor × the old peak),
    // never to what the agent did once stopped; `above` floors never move (docs/monitoring.md).
    expect(peak, `the learned peak after the stopped burst`).toBe(10);
    expect(
      ran,
      `after the stopped burst the learned peak is ${peak}: ${ran} of 200 reads in a fresh session ran`,
    ).toBeLessThanOrEqual(2 * 10);
  });
});
