/**
 * @module test/security/monitor-attack-baseline-memory
 * Fixed: trails are trimmed to the longest window at every call, and sessions idle longer than that keep only their last call (policy/monitor-baseline sweep).
 *
 * Resource exhaustion in the baseline refresh. `BaselineLearner` keeps one `ActivityTrail` per session
 * seen in the period and never lets go of it: a trail is trimmed only once it holds 1,000 entries
 * (`TRIM_AT`), and a session that ended long ago stays in `trails` with all its entries. Learning a
 * 30-day window therefore holds (nearly) every call of the period in memory at once, every hour, in
 * every serving process — and an agent that spreads its calls over many short sessions maximises it.
 * Only the entries within the longest rule window of the call being learned are ever read again.
 */
import { describe, expect, it } from 'vitest';
import { BaselineLearner } from '../../src/policy/monitor-baseline.js';
import type { AuditEventV1 } from '../../src/spec/audit-event.js';
import { policyFrom } from '../support/policy-fixtures.js';

const policy = policyFrom(
  `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: busy, signal: rate, window: 1m, factor: 3, action: pause, reason: busy }
`,
  { catalogue: `\ntools:\n  - { server: crm, name: contacts.read, risk: low, effects: [read] }\n` },
);

describe('learning a baseline', () => {
  it('holds no more than the calls within the longest window, not the whole period', () => {
    const from = Date.parse('2026-11-01T00:00:00Z');
    const to = Date.parse('2026-12-01T00:00:00Z');
    const monitor = policy.monitor;
    if (monitor === undefined) throw new Error('no monitor');
    const learner = new BaselineLearner(monitor, { from, to });
    // 4,000 sessions of 25 calls, one session every ~10 minutes over 30 days
    const sessions = 4_000;
    const perSession = 25;
    let seq = 0;
    for (let s = 0; s < sessions; s++) {
      const start = from + s * 600_000;
      for (let n = 0; n < perSession; n++) {
        const decisionId = `d${seq++}`;
        learner.add({
          v: 1,
          id: `${decisionId}/intent`,
          kind: 'call-intent',
          time: new Date(start + n * 1_000).toISOString(),
          decisionId,
          sessionId: `s${s}`,
          principal: { agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] },
          tool: { server: 'crm', name: 'contacts.read' },
          links: [],
          args: { page: n },
          decision: { effect: 'allow', matchedRules: [], reasons: [], decidedBy: [], policyHash: 'x' },
        } as unknown as AuditEventV1);
      }
    }
    const trails = (learner as unknown as { trails: Map<string, { entries: unknown[] }> }).trails;
    let retained = 0;
    for (const trail of trails.values()) retained += trail.entries.length;
    expect(learner.baselines().get('a')?.calls).toBe(sessions * perSession);
    // Fixed: what is ever read again is kept — the calls within the longest window, and for a session
    // idle longer than that only its last call (its next call's transition): one entry per session,
    // not one per call of the period
    expect(
      retained,
      `${trails.size} session trails and ${retained} entries still held after learning ${sessions * perSession} calls`,
    ).toBeLessThanOrEqual(trails.size + 100);
  });
});
