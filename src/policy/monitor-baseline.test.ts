/**
 * @module policy/monitor-baseline.test
 * Baselines learned from audit records: each windowed rule's peak is the highest value the judging
 * code would have observed at any call of the period, records outside the period are ignored, tools,
 * transitions (within a session) and hours are counted, and the same records give the same baseline.
 */
import { describe, expect, it } from 'vitest';
import {
  decided,
  intentRecord,
  monitorFrom,
  outcomeRecord,
  T0,
} from '../../test/support/monitor-fixtures.js';
import { call } from '../../test/support/policy-fixtures.js';
import type { AuditEventV1 } from '../spec/audit-event.js';
import { WINDOWED_SIGNALS } from '../spec/monitor.js';
import type { CompiledMonitor } from './monitor.js';
import { ActivityTrail } from './monitor-activity.js';
import { BaselineLearner, type BaselinePeriod, learnBaselines } from './monitor-baseline.js';

const SECOND = 1_000;
const MINUTE = 60_000;

// `above: 0`: judging raises every call with a value, so its findings show what judging observes
const monitor = monitorFrom(
  `    - { id: burst, signal: rate, window: 1m, above: 0, reason: a burst }\n` +
    `    - { id: refused, signal: denials, window: 5m, above: 0, reason: denials }\n` +
    `    - { id: volume, signal: output-volume, window: 10m, above: 0, reason: output }\n` +
    `    - { id: sends, signal: rate, tool: { effects: [external] }, window: 1m, above: 0, reason: sends }\n` +
    `    - { id: b-only, signal: rate, agents: agent-b, window: 1m, above: 0, reason: b }\n` +
    `    - { id: unseen, signal: new-tool, reason: new }\n`,
);
const PERIOD: BaselinePeriod = { from: T0 - 3_600_000, to: T0 + 86_400_000 };
const SEND = { tool: 'pay/payments.send' };

/** Two sessions of agent-a interleaved in the log, and one of agent-b. */
function records(): AuditEventV1[] {
  const s2 = { sessionId: 'session-2' };
  const b = { sessionId: 'session-b', agentId: 'agent-b' };
  return [
    intentRecord('d1', T0),
    intentRecord('e1', T0 + SECOND, s2),
    outcomeRecord('d1', T0 + 2 * SECOND, 'ok', 'x'.repeat(10)), // 12 characters
    intentRecord('d2', T0 + 10 * SECOND, { effect: 'deny' }),
    intentRecord('e2', T0 + 15 * SECOND, { ...s2, ...SEND }),
    intentRecord('d3', T0 + 20 * SECOND, SEND),
    outcomeRecord('d3', T0 + 21 * SECOND, 'ok', 'y'.repeat(28)), // 30 characters
    intentRecord('d4', T0 + 30 * SECOND, { effect: 'deny' }),
    intentRecord('d5', T0 + 40 * SECOND),
    intentRecord('f1', T0 + 41 * SECOND, b),
    intentRecord('d6', T0 + 2 * MINUTE),
    intentRecord('d7', T0 + 3 * 3_600_000 + 5 * MINUTE, SEND),
  ];
}

/** Per agent and rule, the highest `observed` of judging each recorded call against its session so far. */
function judgedPeaks(judging: CompiledMonitor, events: AuditEventV1[]): Map<string, Record<string, number>> {
  const trails = new Map<string, ActivityTrail>();
  const peaks = new Map<string, Record<string, number>>();
  for (const event of events) {
    if (event.kind === 'call-outcome') trails.get(event.sessionId)?.end(event);
    if (event.kind !== 'call-intent') continue;
    const trail = trails.get(event.sessionId) ?? new ActivityTrail();
    trails.set(event.sessionId, trail);
    const agentId = event.principal.agentId;
    const judged = judging.judge(
      decided(event.decision.effect),
      call({ agentId, server: event.tool.server, tool: event.tool.name }),
      { activity: trail.entries },
      Date.parse(event.time),
    );
    const agent = peaks.get(agentId) ?? {};
    peaks.set(agentId, agent);
    // every windowed rule that watches the agent has a peak, 0 until a call it counts
    for (const rule of judging.rules)
      if (WINDOWED_SIGNALS.has(rule.signal) && (rule.agents === undefined || rule.agents.matches(agentId)))
        agent[rule.id] ??= 0;
    for (const finding of judged.monitor ?? [])
      if (finding.observed > (agent[finding.rule] ?? 0)) agent[finding.rule] = finding.observed;
    trail.admit(event);
  }
  return peaks;
}

describe('learnBaselines', () => {
  const learned = learnBaselines(monitor, PERIOD, records());
  const a = learned.get('agent-a');

  it('learns each windowed rule’s peak as judging would have observed it', () => {
    // burst: d1..d5 within a minute; refused: d2 and d4 (denied) within 5m; volume: 12 + 30 characters
    expect(a?.peaks).toEqual({ burst: 5, refused: 2, volume: 42, sends: 1 });
    // a rule that watches the agent but never counted one of its calls has a peak of 0 (not none)
    expect(learned.get('agent-b')?.peaks).toEqual({ burst: 1, 'b-only': 1, refused: 0, volume: 0, sends: 0 });
    const judged = judgedPeaks(monitor, records());
    expect(a?.peaks).toEqual(judged.get('agent-a'));
    expect(learned.get('agent-b')?.peaks).toEqual(judged.get('agent-b'));
  });

  it('counts calls, sessions, tools, transitions within each session, and hours', () => {
    expect(a).toMatchObject({
      agentId: 'agent-a',
      from: new Date(PERIOD.from).toISOString(),
      to: new Date(PERIOD.to).toISOString(),
      calls: 9,
      sessions: 2,
      tools: { 'crm/db.select': 6, 'pay/payments.send': 3 },
      transitions: {
        'crm/db.select -> crm/db.select': 3,
        'crm/db.select -> pay/payments.send': 3,
        'pay/payments.send -> crm/db.select': 1,
      },
    });
    // d6 -> d7 is within session-1; e1 -> e2 within session-2; nothing crosses sessions
    expect(Object.values(a?.transitions ?? {}).reduce((sum, count) => sum + count, 0)).toBe(7);
    expect(a?.hours).toHaveLength(24);
    expect(a?.hours[9]).toBe(8);
    expect(a?.hours[12]).toBe(1);
    expect(a?.hours.reduce((sum, count) => sum + count, 0)).toBe(9);
  });

  it('ignores records outside the period [from, to)', () => {
    const period: BaselinePeriod = { from: T0 + 10 * SECOND, to: T0 + 40 * SECOND };
    const within = learnBaselines(monitor, period, records()).get('agent-a');
    // d2, e2, d3, d4: d1 (before) and d5 (at `to`) are not read, nor d1's outcome
    expect(within).toMatchObject({ calls: 4, peaks: { burst: 3, refused: 2, volume: 30, sends: 1 } });
    expect(within?.tools).toEqual({ 'crm/db.select': 2, 'pay/payments.send': 2 });
    expect(learnBaselines(monitor, { from: T0 + 40 * SECOND, to: T0 + 40 * SECOND }, records()).size).toBe(0);
  });

  it('gives the same baseline for the same records', () => {
    const again = learnBaselines(monitor, PERIOD, records());
    expect(JSON.stringify([...again])).toBe(JSON.stringify([...learned]));
    const learner = new BaselineLearner(monitor, PERIOD);
    for (const event of records()) learner.add(event);
    expect(learner.baselines()).toEqual(learned);
  });

  it('keeps the peaks right over a long session (its trail is trimmed while learning)', () => {
    // one call a second for 25 minutes, then 100 calls within a second
    const events: AuditEventV1[] = [];
    for (let index = 0; index < 1_500; index++) events.push(intentRecord(`d${index}`, T0 + index * SECOND));
    for (let index = 0; index < 100; index++)
      events.push(intentRecord(`z${index}`, T0 + 1_500 * SECOND + index));
    const long = learnBaselines(monitor, PERIOD, events).get('agent-a');
    // at the last call: the one-a-second calls of the last minute after 1441 s (59) and the 100
    expect(long?.peaks.burst).toBe(159);
    expect(long?.peaks).toEqual(judgedPeaks(monitor, events).get('agent-a'));
    expect(long?.transitions).toEqual({ 'crm/db.select -> crm/db.select': 1_599 });
  });
});
