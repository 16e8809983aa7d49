/**
 * @module test/security/monitor-attack-concurrency
 * Fixed in one process: calls decided but not yet in the log count (harness/pending-activity); across replicas the bound is per replica (documented).
 *
 * Attack: an agent that runs its bulk export as concurrent calls. Every call of the wave is decided
 * against the session's activity as the log held it before any of them was recorded (there is no
 * reservation or per-session serialisation for the monitor, unlike limits), so each sees "1 call in
 * the window" and the whole wave is allowed — and, if the agent then stops calling in that session,
 * no finding is ever recorded: no alert, no pause, no evidence.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const POLICY = `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - id: bulk-export
      signal: rate
      tool: { effects: [read] }
      window: 1m
      above: 5
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

const read = (sessionId: string, n: number) => ({
  principal: { agentId: 'exporter' },
  sessionId,
  tool: { server: 'crm', name: 'contacts.read' },
  args: { page: n },
});

describe('a concurrent burst', () => {
  it('lets at most `above` + 1 calls of a pause rule run in one window, in one process', async () => {
    const a = await world.start(policy);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => a.harness.call(read('wave', n), ok)),
    );
    const ran = results.filter((result) => result.status === 'ok').length;
    const intents = await world.intents('wave');
    const findings = intents.flatMap((intent) => intent.monitor ?? []);
    // evidence: a burst of 40 reads in one minute against `above: 5` is on record
    expect(
      findings.length,
      `40 concurrent reads, ${ran} ran, findings recorded: ${findings.length}`,
    ).toBeGreaterThan(0);
    // enforcement: the sixth call crosses the bound and is denied; nothing after it runs
    expect(ran).toBeLessThanOrEqual(6);
  });

  // Fixed in part: each process now counts the calls it decided whose intents are not in the log yet
  // (harness/pending-activity), so one process lets at most `above` + 1 run. Calls decided at the same
  // instant in two replicas each read the log as it was: each replica stops its own share at the bound,
  // so at most (`above` + 1) per replica run (documented in docs/monitoring.md, decision 0027).
  it('lets at most `above` + 1 calls per replica run when two replicas on one SQLite file serve the wave', async () => {
    const a = await world.start(policy);
    const b = await world.start(policy);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? a : b).harness.call(read('wave2', n), ok)),
    );
    const ran = results.filter((result) => result.status === 'ok').length;
    expect(ran, `40 concurrent reads over two replicas: ${ran} ran`).toBeLessThanOrEqual(2 * 6);
    // and the stop is on record: every later call of the session, in either replica, is refused
    expect((await a.harness.call(read('wave2', 99), ok)).status).toBe('denied');
    expect((await b.harness.call(read('wave2', 100), ok)).status).toBe('denied');
  });
});
