/**
 * @module policy/monitor.test
 * The runtime monitor's judgement of one call, from pure inputs (the session's activity entries and
 * the agent's baseline): each signal and its edges, the bounds (`above`, `factor`, both, an immature
 * baseline), a deviation reported once where it begins, what each action does to the decision, an
 * earlier stop, and which agents and tools a rule watches.
 */
import { describe, expect, it } from 'vitest';
import {
  baseline,
  COUNT,
  decided,
  type EntryOptions,
  entry,
  hoursAt,
  monitorFrom,
  T0,
  toolOf,
} from '../../test/support/monitor-fixtures.js';
import { call } from '../../test/support/policy-fixtures.js';
import type { Decision } from '../spec/decision.js';
import type { AgentBaseline } from '../spec/monitor.js';
import type { CompiledMonitor } from './monitor.js';
import type { ActivityEntry, MonitorStop } from './monitor-activity.js';

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

interface Judged {
  tool?: string;
  agentId?: string;
  decision?: Decision;
  activity?: ActivityEntry[];
  baseline?: AgentBaseline;
  stop?: MonitorStop;
  now?: number;
}

function judge(monitor: CompiledMonitor, judged: Judged = {}): Decision {
  const tool = toolOf(judged.tool ?? 'crm/db.select');
  return monitor.judge(
    judged.decision ?? decided(),
    call({ server: tool.server, tool: tool.name, agentId: judged.agentId ?? 'agent-a' }),
    { activity: judged.activity ?? [], baseline: judged.baseline, stop: judged.stop },
    judged.now ?? T0,
  );
}

/** Calls `d1`, `d2`, ... at the given offsets (ms before T0), oldest first. */
function callsAgo(offsets: number[], options: EntryOptions = {}): ActivityEntry[] {
  return offsets.map((offset, index) => entry(`d${index + 1}`, T0 - offset, options));
}

function findingsOf(decision: Decision): string[] {
  return (decision.monitor ?? []).map((finding) => finding.rule);
}

describe('the rate signal', () => {
  const monitor = monitorFrom(`    - { id: burst, signal: rate, window: 1m, above: 2, reason: a burst }\n`);

  it('counts this call and the earlier calls in the window, and names them oldest first', () => {
    const judged = judge(monitor, { activity: callsAgo([30 * SECOND, 10 * SECOND]) });
    expect(judged.effect).toBe('allow');
    expect(judged.monitor).toEqual([
      {
        rule: 'burst',
        signal: 'rate',
        action: 'alert',
        observed: 3,
        threshold: 2,
        windowMs: MINUTE,
        records: ['d1', 'd2'],
        message: 'a burst: 3 calls in 1m, above 2 (the rule’s floor)',
      },
    ]);
    expect(judge(monitor, { activity: callsAgo([10 * SECOND]) }).monitor).toBeUndefined();
  });

  it('leaves out a call exactly one window old, and counts one a millisecond younger', () => {
    const edge = monitorFrom(`    - { id: burst, signal: rate, window: 1m, above: 3, reason: a burst }\n`);
    expect(judge(edge, { activity: callsAgo([MINUTE, 20 * SECOND, 10 * SECOND]) }).monitor).toBeUndefined();
    const inside = judge(edge, { activity: callsAgo([MINUTE - 1, 20 * SECOND, 10 * SECOND]) });
    expect(inside.monitor?.[0]?.observed).toBe(4);
    expect(inside.monitor?.[0]?.records).toEqual(['d1', 'd2', 'd3']);
  });
});

describe('the denials signal', () => {
  const monitor = monitorFrom(
    `    - { id: refused, signal: denials, window: 5m, above: 1, reason: denials pile up }\n`,
  );
  const activity = [
    entry('d1', T0 - 2 * MINUTE, { denied: true }),
    entry('d2', T0 - MINUTE, { denied: false }),
  ];

  it('counts this call only when the rules denied it', () => {
    expect(judge(monitor, { activity }).monitor).toBeUndefined();
    const judged = judge(monitor, { activity, decision: decided('deny', []) });
    expect(judged.monitor?.[0]).toMatchObject({ observed: 2, threshold: 1, records: ['d1'] });
    expect(judged.monitor?.[0]?.message).toContain('2 denials in 5m, above 1');
  });

  it('counts earlier denials only', () => {
    const allowed = [entry('d1', T0 - MINUTE), entry('d2', T0 - 30 * SECOND)];
    expect(judge(monitor, { activity: allowed, decision: decided('deny', []) }).monitor).toBeUndefined();
  });
});

describe('the output-volume signal', () => {
  const monitor = monitorFrom(
    `    - { id: export, signal: output-volume, window: 10m, above: 100, reason: much data out }\n`,
  );

  it('sums the recorded output of the calls in the window; this call adds nothing', () => {
    const over = [
      entry('d0', T0 - 10 * MINUTE, { outputChars: 1_000 }),
      entry('d1', T0 - 5 * MINUTE, { outputChars: 60 }),
      entry('d2', T0 - MINUTE, { outputChars: 0 }),
      entry('d3', T0 - SECOND, { outputChars: 50 }),
    ];
    const judged = judge(monitor, { activity: over });
    expect(judged.monitor?.[0]).toMatchObject({ observed: 110, threshold: 100, records: ['d1', 'd3'] });
    expect(judged.monitor?.[0]?.message).toContain('110 characters in 10m');
    const at = [
      entry('d1', T0 - 5 * MINUTE, { outputChars: 60 }),
      entry('d2', T0 - MINUTE, { outputChars: 40 }),
    ];
    expect(judge(monitor, { activity: at }).monitor).toBeUndefined();
  });
});

describe('the new-tool signal', () => {
  const monitor = monitorFrom(`    - { id: unseen, signal: new-tool, action: hold, reason: a new tool }\n`, {
    minCalls: 50,
  });

  it('raises a tool the agent never called in a mature baseline, explaining the baseline', () => {
    const judged = judge(monitor, { tool: 'crm/db.execute', baseline: baseline() });
    expect(judged.monitor?.[0]).toMatchObject({
      rule: 'unseen',
      signal: 'new-tool',
      observed: 1,
      threshold: 0,
      records: [],
      baseline: {
        from: '2025-12-25T00:00:00.000Z',
        to: '2026-01-01T00:00:00.000Z',
        calls: 100,
        value: 0,
        describes: 'calls of crm/db.execute',
      },
    });
    expect(judged.monitor?.[0]?.message).toContain('crm/db.execute was never called by this agent');
    expect(judge(monitor, { tool: 'crm/db.select', baseline: baseline() }).monitor).toBeUndefined();
  });

  it('needs a baseline of at least minCalls calls', () => {
    expect(judge(monitor, { tool: 'crm/db.execute' }).monitor).toBeUndefined();
    expect(
      judge(monitor, { tool: 'crm/db.execute', baseline: baseline({ calls: 49 }) }).monitor,
    ).toBeUndefined();
    expect(findingsOf(judge(monitor, { tool: 'crm/db.execute', baseline: baseline({ calls: 50 }) }))).toEqual(
      ['unseen'],
    );
  });

  it('raises each new tool once per session: at its first call judged against a baseline', () => {
    const calledBefore = [entry('d1', T0 - MINUTE, { tool: 'crm/db.execute', raised: ['unseen'] })];
    expect(
      judge(monitor, { tool: 'crm/db.execute', baseline: baseline(), activity: calledBefore }).monitor,
    ).toBeUndefined();
    // called before the baseline was learned (nothing raised then): raised now, once
    const beforeLearning = [entry('d1', T0 - MINUTE, { tool: 'crm/db.execute' })];
    expect(
      findingsOf(judge(monitor, { tool: 'crm/db.execute', baseline: baseline(), activity: beforeLearning })),
    ).toEqual(['unseen']);
    expect(
      findingsOf(judge(monitor, { tool: 'pay/payments.send', baseline: baseline(), activity: calledBefore })),
    ).toEqual(['unseen']);
  });
});

describe('the transition signal', () => {
  const monitor = monitorFrom(`    - { id: odd-step, signal: transition, reason: an odd step }\n`);
  const usual = baseline({
    tools: { 'crm/db.select': 90, 'pay/payments.send': 10 },
    transitions: { 'crm/db.select -> crm/db.select': 80, 'crm/db.select -> pay/payments.send': 1 },
  });
  const afterRead = [entry('d1', T0 - MINUTE)];

  it('raises a pair seen fewer than `below` (default 1) times in the baseline', () => {
    const judged = judge(monitor, { tool: 'crm/db.execute', baseline: usual, activity: afterRead });
    expect(judged.monitor?.[0]).toMatchObject({
      rule: 'odd-step',
      observed: 1,
      threshold: 1,
      baseline: { value: 0, describes: 'calls crm/db.select -> crm/db.execute' },
    });
    expect(judged.monitor?.[0]?.message).toContain('crm/db.select -> crm/db.execute is rare for this agent');
    // seen once: not below the default of 1
    expect(
      judge(monitor, { tool: 'pay/payments.send', baseline: usual, activity: afterRead }).monitor,
    ).toBeUndefined();
  });

  it('takes `below` from the rule', () => {
    const strict = monitorFrom(`    - { id: odd-step, signal: transition, below: 2, reason: an odd step }\n`);
    const judged = judge(strict, { tool: 'pay/payments.send', baseline: usual, activity: afterRead });
    expect(judged.monitor?.[0]).toMatchObject({ threshold: 2, baseline: { value: 1 } });
  });

  it('raises nothing without a previous call or a mature baseline', () => {
    expect(judge(monitor, { tool: 'crm/db.execute', baseline: usual }).monitor).toBeUndefined();
    expect(
      judge(monitor, { tool: 'crm/db.execute', baseline: baseline({ calls: 10 }), activity: afterRead })
        .monitor,
    ).toBeUndefined();
  });

  it('raises each pair once per session', () => {
    const again = [
      entry('d1', T0 - 3 * MINUTE),
      entry('d2', T0 - 2 * MINUTE, { tool: 'crm/db.execute', raised: ['odd-step'] }),
      entry('d3', T0 - MINUTE),
    ];
    expect(
      judge(monitor, { tool: 'crm/db.execute', baseline: usual, activity: again }).monitor,
    ).toBeUndefined();
    // the reverse pair is another pair
    const reverse = [entry('d1', T0 - MINUTE, { tool: 'crm/db.execute' })];
    const before = [...again.slice(0, 2)];
    expect(findingsOf(judge(monitor, { tool: 'crm/db.select', baseline: usual, activity: before }))).toEqual([
      'odd-step',
    ]);
    expect(findingsOf(judge(monitor, { tool: 'crm/db.select', baseline: usual, activity: reverse }))).toEqual(
      ['odd-step'],
    );
  });
});

describe('the off-hours signal', () => {
  const monitor = monitorFrom(`    - { id: night, signal: off-hours, reason: a call at night }\n`);
  const three = Date.parse('2026-01-01T03:20:00Z');

  it('raises a call in an hour holding less than `below` (default 0.01) of the baseline', () => {
    const judged = judge(monitor, { baseline: baseline(), now: three });
    expect(judged.monitor?.[0]).toMatchObject({
      rule: 'night',
      signal: 'off-hours',
      threshold: 0.01,
      baseline: { value: 0, describes: 'share of calls at 3:00 UTC' },
    });
    expect(judged.monitor?.[0]?.message).toContain('a call at 3:00 UTC is unusual for this agent');
    expect(judge(monitor, { baseline: baseline(), now: T0 }).monitor).toBeUndefined();
    expect(judge(monitor, { now: three }).monitor).toBeUndefined();
    expect(judge(monitor, { baseline: baseline({ calls: 49 }), now: three }).monitor).toBeUndefined();
  });

  it('compares the hour’s share with `below`, strictly', () => {
    const rule = monitorFrom(`    - { id: night, signal: off-hours, below: 0.2, reason: a call at night }\n`);
    const hours = hoursAt(9, 80);
    hours[3] = 20;
    expect(judge(rule, { baseline: baseline({ hours }), now: three }).monitor).toBeUndefined();
    hours[3] = 19;
    hours[9] = 81;
    const judged = judge(rule, { baseline: baseline({ hours }), now: three });
    expect(judged.monitor?.[0]).toMatchObject({ threshold: 0.2, baseline: { value: 0.19 } });
  });

  it('raises once per run of calls within the same hour', () => {
    const sameHour = [entry('d1', three - 10 * MINUTE)];
    expect(judge(monitor, { baseline: baseline(), now: three, activity: sameHour }).monitor).toBeUndefined();
    const hourBefore = [entry('d1', Date.parse('2026-01-01T02:59:00Z'))];
    expect(findingsOf(judge(monitor, { baseline: baseline(), now: three, activity: hourBefore }))).toEqual([
      'night',
    ]);
    const dayBefore = [entry('d1', three - 24 * HOUR)];
    expect(findingsOf(judge(monitor, { baseline: baseline(), now: three, activity: dayBefore }))).toEqual([
      'night',
    ]);
  });

  it('raises the first call in the hour that the rule counts, after calls it does not count', () => {
    const sends = monitorFrom(
      `    - { id: night-send, signal: off-hours, tool: { effects: [external] }, reason: a send at night }\n`,
    );
    const readFirst = [entry('d1', three - 10 * MINUTE)];
    const judged = judge(sends, {
      tool: 'pay/payments.send',
      baseline: baseline(),
      now: three,
      activity: readFirst,
    });
    expect(findingsOf(judged)).toEqual(['night-send']);
    const sentFirst = [
      entry('d1', three - 10 * MINUTE, { tool: 'pay/payments.send' }),
      entry('d2', three - MINUTE),
    ];
    expect(
      judge(sends, { tool: 'pay/payments.send', baseline: baseline(), now: three, activity: sentFirst })
        .monitor,
    ).toBeUndefined();
  });
});

describe('bounds', () => {
  const relative = monitorFrom(
    `    - { id: busier, signal: rate, window: 1m, factor: 2, reason: busier than usual }\n`,
    { minCalls: 50 },
  );
  const trained = baseline({ peaks: { busier: 3, both: 3 } });

  it('a factor alone bounds by factor × the baseline’s peak, and names both', () => {
    expect(
      judge(relative, { baseline: trained, activity: callsAgo([50, 40, 30, 20, 10]) }).monitor,
    ).toBeUndefined();
    const judged = judge(relative, {
      baseline: trained,
      activity: callsAgo([60, 50, 40, 30, 20, 10].map((s) => s * 100)),
    });
    expect(judged.monitor?.[0]).toMatchObject({
      observed: 7,
      threshold: 6,
      baseline: { calls: 100, value: 3, describes: 'busiest 1m of any session: 3 calls' },
    });
    expect(judged.monitor?.[0]?.message).toBe(
      'busier than usual: 7 calls in 1m, above 6 (2 × the baseline’s peak of 3)',
    );
  });

  it('a factor alone raises nothing without a mature baseline', () => {
    const burst = callsAgo(Array.from({ length: 50 }, (_, index) => index * 100));
    expect(judge(relative, { activity: burst }).monitor).toBeUndefined();
    expect(
      judge(relative, { activity: burst, baseline: baseline({ calls: 49, peaks: { busier: 1 } }) }).monitor,
    ).toBeUndefined();
  });

  it('with both, the larger bound applies', () => {
    const both = monitorFrom(
      `    - { id: both, signal: rate, window: 1m, above: 10, factor: 2, reason: busier than usual }\n`,
    );
    const eleven = callsAgo(Array.from({ length: 10 }, (_, index) => (10 - index) * 100));
    const floor = judge(both, { baseline: trained, activity: eleven });
    expect(floor.monitor?.[0]).toMatchObject({ observed: 11, threshold: 10, baseline: { value: 3 } });
    expect(floor.monitor?.[0]?.message).toContain('above 10 (the rule’s floor, above its baseline bound)');
    const busy = baseline({ peaks: { both: 8 } });
    expect(judge(both, { baseline: busy, activity: eleven }).monitor).toBeUndefined();
    const seventeen = callsAgo(Array.from({ length: 16 }, (_, index) => (16 - index) * 100));
    const judged = judge(both, { baseline: busy, activity: seventeen });
    expect(judged.monitor?.[0]).toMatchObject({ observed: 17, threshold: 16 });
    expect(judged.monitor?.[0]?.message).toContain('above 16 (2 × the baseline’s peak of 8)');
  });

  it('an immature baseline falls back to `above`, and the message says the baseline is not learned yet', () => {
    const both = monitorFrom(
      `    - { id: both, signal: rate, window: 1m, above: 2, factor: 10, reason: busier than usual }\n`,
    );
    const judged = judge(both, {
      baseline: baseline({ calls: 12, peaks: { both: 5 } }),
      activity: callsAgo([20, 10]),
    });
    expect(judged.monitor?.[0]?.baseline).toBeUndefined();
    expect(judged.monitor?.[0]?.threshold).toBe(2);
    expect(judged.monitor?.[0]?.message).toBe(
      'busier than usual: 3 calls in 1m, above 2 (the rule’s floor) — baseline not yet learned (12 calls)',
    );
  });
});

describe('a baseline learned before the rule existed', () => {
  it('has no peak for it: only `above` applies, never a bound of 0', () => {
    const both = monitorFrom(
      `    - { id: added, signal: rate, window: 1m, above: 4, factor: 2, reason: busier than usual }\n`,
    );
    const factorOnly = monitorFrom(
      `    - { id: added, signal: rate, window: 1m, factor: 2, reason: busier than usual }\n`,
    );
    const older = baseline({ peaks: { other: 3 } });
    expect(judge(factorOnly, { baseline: older, activity: callsAgo([30, 20, 10]) }).monitor).toBeUndefined();
    expect(judge(both, { baseline: older, activity: callsAgo([30, 20, 10]) }).monitor).toBeUndefined();
    expect(judge(both, { baseline: older, activity: callsAgo([40, 30, 20, 10]) }).monitor?.[0]).toMatchObject(
      {
        observed: 5,
        threshold: 4,
      },
    );
    // learned with the rule, a peak of 0 is a bound of 0: any matching call deviates
    expect(
      judge(factorOnly, { baseline: baseline({ peaks: { added: 0 } }), activity: [] }).monitor?.[0],
    ).toMatchObject({
      observed: 1,
      threshold: 0,
    });
  });
});

describe('a deviation is reported where it begins', () => {
  const monitor = monitorFrom(`    - { id: burst, signal: rate, window: 1m, above: 2, reason: a burst }\n`);

  it('does not raise again while the call that raised it is in the window', () => {
    const raised = [
      entry('d1', T0 - 50 * SECOND),
      entry('d2', T0 - 40 * SECOND, { raised: ['burst'] }),
      entry('d3', T0 - 30 * SECOND),
    ];
    expect(judge(monitor, { activity: raised }).monitor).toBeUndefined();
    // raised by another rule: not this one's deviation
    const other = raised.map((item) => (item.raised ? { ...item, raised: ['other'] } : item));
    expect(findingsOf(judge(monitor, { activity: other }))).toEqual(['burst']);
  });

  it('does not raise again after a call that raised it but adds nothing to its value', () => {
    // the call that crossed the bound was paused (denied): it returned nothing, yet it raised the rule
    const volume = monitorFrom(
      `    - { id: export, signal: output-volume, window: 10m, above: 100, action: pause, reason: much data out }\n`,
    );
    const activity = [
      entry('d1', T0 - 3 * MINUTE, { outputChars: 60 }),
      entry('d2', T0 - 2 * MINUTE, { outputChars: 50 }),
      entry('d3', T0 - MINUTE, { denied: true, raised: ['export'] }),
    ];
    expect(judge(volume, { activity }).monitor).toBeUndefined();
    const refused = monitorFrom(
      `    - { id: refused, signal: denials, window: 10m, above: 1, reason: denials pile up }\n`,
    );
    const denials = [
      entry('d1', T0 - 3 * MINUTE, { denied: true }),
      entry('d2', T0 - 2 * MINUTE, { denied: true }),
      entry('d3', T0 - MINUTE, { raised: ['refused'] }),
    ];
    expect(judge(refused, { activity: denials }).monitor).toBeUndefined();
  });

  it('raises again once that call has left the window', () => {
    const raisedAt = T0 - 40 * SECOND;
    const activity = [
      entry('d1', raisedAt - 10 * SECOND),
      entry('d2', raisedAt, { raised: ['burst'] }),
      entry('d3', raisedAt + 30 * SECOND),
      entry('d4', raisedAt + 50 * SECOND),
    ];
    expect(judge(monitor, { activity, now: raisedAt + MINUTE - 1 }).monitor).toBeUndefined();
    const judged = judge(monitor, { activity, now: raisedAt + MINUTE });
    expect(judged.monitor?.[0]).toMatchObject({ observed: 3, records: ['d3', 'd4'] });
  });
});

describe('actions', () => {
  const rule = (id: string, action: string) =>
    `    - { id: ${id}, signal: rate, window: 1m, above: 0, action: ${action}, reason: ${id} reason }\n`;

  it('alert records the finding and leaves the decision as the rules made it', () => {
    const judged = judge(monitorFrom(rule('watch', 'alert')));
    expect(judged).toEqual({
      ...decided(),
      monitor: [expect.objectContaining({ rule: 'watch', action: 'alert' })],
    });
  });

  it('hold turns an allow into approve, asking one approver under the rule’s id', () => {
    const judged = judge(monitorFrom(rule('hold-it', 'hold')));
    expect(judged.effect).toBe('approve');
    expect(judged.decidedBy).toEqual(['hold-it']);
    expect(judged.matchedRules).toEqual(['everything', 'hold-it']);
    expect(judged.reasons).toEqual(['hold-it reason: 1 calls in 1m, above 0 (the rule’s floor)']);
    expect(judged.obligations).toEqual([
      COUNT,
      {
        kind: 'approval',
        ruleIds: ['hold-it'],
        requirements: [
          { ruleId: 'hold-it', approvers: ['approver', 'admin'], quorum: 1, ownerMayApprove: false },
        ],
      },
    ]);
  });

  it('hold leaves a call the rules already hold as they hold it', () => {
    const approval = decided('approve', [
      {
        kind: 'approval',
        ruleIds: ['big'],
        requirements: [{ ruleId: 'big', approvers: ['admin'], quorum: 2, ownerMayApprove: false }],
      },
    ]);
    const judged = judge(monitorFrom(rule('hold-it', 'hold')), { decision: approval });
    expect(judged).toEqual({ ...approval, monitor: [expect.objectContaining({ rule: 'hold-it' })] });
  });

  it.each(['pause', 'suspend'])('%s denies the call and drops its counter reservations', (action) => {
    const judged = judge(monitorFrom(rule('stop-it', action)));
    expect(judged.effect).toBe('deny');
    expect(judged.obligations).toEqual([]);
    expect(judged.decidedBy).toEqual(['stop-it']);
    expect(judged.monitor?.[0]?.action).toBe(action);
  });

  it('a call the rules deny stays denied for their reasons, with the finding on it', () => {
    const denied = { ...decided('deny', []), reasons: ['not allowed'], decidedBy: ['no'] };
    const judged = judge(monitorFrom(rule('hold-it', 'hold') + rule('stop-it', 'suspend')), {
      decision: denied,
    });
    expect(judged).toEqual({ ...denied, monitor: [expect.anything(), expect.anything()] });
  });

  it('the most severe action wins, whatever the order of the rules', () => {
    const monitor = monitorFrom(
      rule('a', 'hold') + rule('b', 'suspend') + rule('c', 'pause') + rule('d', 'alert'),
    );
    const judged = judge(monitor);
    expect(judged.effect).toBe('deny');
    expect(judged.decidedBy).toEqual(['b']);
    expect(judged.reasons).toEqual([expect.stringMatching(/^b reason/)]);
    expect(findingsOf(judged)).toEqual(['a', 'b', 'c', 'd']);
    const held = judge(monitorFrom(rule('d', 'alert') + rule('a', 'hold')));
    expect([held.effect, held.decidedBy]).toEqual(['approve', ['a']]);
  });
});

describe('an earlier stop of the session', () => {
  const quiet = monitorFrom(`    - { id: burst, signal: rate, window: 1m, above: 100, reason: a burst }\n`);
  const stop = (action: MonitorStop['action']): MonitorStop => ({
    rule: 'mass-mailing',
    action,
    decisionId: 'd7',
    reason: 'external sends in a burst',
  });

  it('holds the next call (a hold) with the stop’s reason, though nothing deviates now', () => {
    const judged = judge(quiet, { stop: stop('hold') });
    expect(judged.monitor).toBeUndefined();
    expect(judged.effect).toBe('approve');
    expect(judged.decidedBy).toEqual(['mass-mailing']);
    expect(judged.reasons).toEqual([
      'external sends in a burst (the session was stopped at call d7; an operator must resume it)',
    ]);
    expect(judged.obligations).toContainEqual(
      expect.objectContaining({ kind: 'approval', ruleIds: ['mass-mailing'] }),
    );
  });

  it('leaves a call the rules deny as they deny it', () => {
    const denied = { ...decided('deny', []), reasons: ['not allowed'], decidedBy: ['no'] };
    expect(judge(quiet, { stop: stop('suspend'), decision: denied })).toEqual(denied);
  });

  it('denies the next call (a pause or suspension)', () => {
    for (const action of ['pause', 'suspend'] as const) {
      const judged = judge(quiet, { stop: stop(action) });
      expect(judged.effect).toBe('deny');
      expect(judged.reasons[0]).toMatch(/^external sends in a burst \(the session was stopped at call d7/);
      expect(judged.obligations).toEqual([]);
    }
  });

  it('raises nothing new in a stopped session: its refusals are the stop’s, not a deviation of their own', () => {
    const suspend = monitorFrom(
      `    - { id: spike, signal: rate, window: 1m, above: 0, action: suspend, reason: spike }\n`,
    );
    const judged = judge(suspend, { stop: stop('pause') });
    expect([judged.effect, judged.decidedBy, judged.monitor]).toEqual(['deny', ['mass-mailing'], undefined]);
  });
});

describe('what a rule watches', () => {
  it('only the agents its globs name', () => {
    const monitor = monitorFrom(
      `    - { id: burst, signal: rate, agents: [exporter-*, batch], window: 1m, above: 0, reason: a burst }\n`,
    );
    expect(findingsOf(judge(monitor, { agentId: 'exporter-7' }))).toEqual(['burst']);
    expect(findingsOf(judge(monitor, { agentId: 'batch' }))).toEqual(['burst']);
    expect(judge(monitor, { agentId: 'agent-a' }).monitor).toBeUndefined();
    expect([monitor.watches('exporter-1'), monitor.watches('agent-a')]).toEqual([true, false]);
  });

  it('calls of the tools its `tool:` names, by the catalogue’s risk and effects', () => {
    const monitor = monitorFrom(
      `    - { id: sends, signal: rate, tool: { effects: [external] }, window: 1m, above: 1, reason: sends }\n` +
        `    - { id: risky, signal: rate, tool: { risk: [high, critical] }, window: 1m, above: 1, reason: risky }\n` +
        `    - { id: web, signal: rate, tool: { server: web, effects: [read] }, window: 1m, above: 0, reason: web }\n`,
    );
    const activity = [
      entry('d1', T0 - 30 * SECOND, { tool: 'pay/payments.send' }),
      entry('d2', T0 - 20 * SECOND, { tool: 'crm/db.select' }),
      entry('d3', T0 - 10 * SECOND, { tool: 'crm/db.execute' }),
    ];
    const send = judge(monitor, { tool: 'pay/payments.send', activity });
    expect(send.monitor?.map((item) => [item.rule, item.observed, item.records])).toEqual([
      ['sends', 2, ['d1']],
      ['risky', 3, ['d1', 'd3']],
    ]);
    expect(judge(monitor, { tool: 'crm/db.select', activity }).monitor).toBeUndefined();
    // a catalogue pattern gives its facts to every tool it covers
    expect(findingsOf(judge(monitor, { tool: 'web/search', activity }))).toEqual(['web']);
  });

  it('a tool without a catalogue entry only for rules that ask nothing of risk or effects', () => {
    const monitor = monitorFrom(
      `    - { id: any, signal: rate, window: 1m, above: 0, reason: any }\n` +
        `    - { id: named, signal: rate, tool: { server: other }, window: 1m, above: 0, reason: named }\n` +
        `    - { id: low, signal: rate, tool: { risk: [low] }, window: 1m, above: 0, reason: low }\n` +
        `    - { id: reads, signal: rate, tool: { effects: [read] }, window: 1m, above: 0, reason: reads }\n`,
    );
    expect(findingsOf(judge(monitor, { tool: 'other/thing' }))).toEqual(['any', 'named']);
    const activity = [entry('d1', T0 - SECOND, { tool: 'other/thing' })];
    const judged = judge(monitor, { tool: 'crm/db.select', activity });
    expect(judged.monitor?.map((item) => [item.rule, item.observed])).toEqual([
      ['any', 2],
      ['low', 1],
      ['reads', 1],
    ]);
  });
});
