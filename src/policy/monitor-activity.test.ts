/**
 * @module policy/monitor-activity.test
 * The session's activity as the monitor reads it, rebuilt from audit records: a stop set by the most
 * severe finding of an intent and ended only by an operator resuming that session, the size of a
 * result once its outcome is on record, and the bound on the entries kept.
 */
import { describe, expect, it } from 'vitest';
import {
  finding,
  intentRecord,
  operatorAction,
  outcomeRecord,
  T0,
} from '../../test/support/monitor-fixtures.js';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import { ActivityTrail, MAX_ACTIVITY } from './monitor-activity.js';
import { SessionProjection } from './session-projection.js';

describe('ActivityTrail', () => {
  it('admits every call, denied or not, with the rules its findings raised', () => {
    const trail = new ActivityTrail();
    trail.admit(intentRecord('d1', T0));
    trail.admit(
      intentRecord('d2', T0 + 1, {
        effect: 'deny',
        tool: 'pay/payments.send',
        monitor: [finding('spike', 'alert')],
      }),
    );
    expect(trail.entries).toEqual([
      {
        decisionId: 'd1',
        tool: { server: 'crm', name: 'db.select' },
        key: 'crm/db.select',
        at: T0,
        denied: false,
        outputChars: 0,
      },
      {
        decisionId: 'd2',
        tool: { server: 'pay', name: 'payments.send' },
        key: 'pay/payments.send',
        at: T0 + 1,
        denied: true,
        outputChars: 0,
        raised: ['spike'],
      },
    ]);
    expect(trail.stop).toBeUndefined(); // an alert does not stop the session
  });

  it('is stopped by the most severe finding of an intent, and a milder later one does not replace it', () => {
    const trail = new ActivityTrail();
    trail.admit(
      intentRecord('d1', T0, {
        monitor: [finding('a', 'hold'), finding('b', 'pause', 'b: too fast'), finding('c', 'alert')],
      }),
    );
    expect(trail.stop).toEqual({ rule: 'b', action: 'pause', decisionId: 'd1', reason: 'b: too fast' });
    trail.admit(intentRecord('d2', T0 + 1, { monitor: [finding('a', 'hold')] }));
    expect(trail.stop?.rule).toBe('b');
    trail.admit(intentRecord('d3', T0 + 2, { monitor: [finding('z', 'suspend')] }));
    expect(trail.stop).toMatchObject({ rule: 'z', action: 'suspend', decisionId: 'd3' });
  });

  it('ends the stop when an operator resumes the session, not when one pauses it', () => {
    const trail = new ActivityTrail();
    trail.admit(intentRecord('d1', T0, { monitor: [finding('a', 'hold')] }));
    trail.operatorAction(operatorAction('session.pause'));
    expect(trail.stop?.rule).toBe('a');
    trail.operatorAction(operatorAction('session.resume'));
    expect(trail.stop).toBeUndefined();
    // a later finding stops it again
    trail.admit(intentRecord('d2', T0 + 1, { monitor: [finding('a', 'hold')] }));
    expect(trail.stop?.decisionId).toBe('d2');
  });

  it('takes the size of a result from an ok outcome, and none from others', () => {
    const trail = new ActivityTrail();
    trail.admit(intentRecord('d1', T0));
    trail.admit(intentRecord('d2', T0 + 1));
    trail.admit(intentRecord('d3', T0 + 2));
    trail.end(outcomeRecord('d1', T0 + 5, 'ok', { rows: ['ab', 'cd'] }));
    trail.end(outcomeRecord('d2', T0 + 5, 'error', { partial: 'x'.repeat(100) }));
    trail.end(outcomeRecord('d3', T0 + 5, 'ok'));
    trail.end(outcomeRecord('unknown', T0 + 5, 'ok', 'ignored'));
    expect(trail.entries.map((entry) => entry.outputChars)).toEqual([
      JSON.stringify({ rows: ['ab', 'cd'] }).length,
      0,
      0,
    ]);
    // a second outcome of the same call changes nothing
    trail.end(outcomeRecord('d1', T0 + 6, 'ok', 'x'.repeat(500)));
    expect(trail.entries[0]?.outputChars).toBe(20);
  });

  it(`keeps the latest ${MAX_ACTIVITY / 2} calls once it holds more than ${MAX_ACTIVITY}`, () => {
    const trail = new ActivityTrail();
    for (let index = 0; index < MAX_ACTIVITY; index++) trail.admit(intentRecord(`d${index}`, T0 + index));
    expect(trail.entries).toHaveLength(MAX_ACTIVITY);
    trail.admit(intentRecord(`d${MAX_ACTIVITY}`, T0 + MAX_ACTIVITY));
    expect(trail.entries).toHaveLength(MAX_ACTIVITY / 2);
    expect(trail.entries[0]?.decisionId).toBe(`d${MAX_ACTIVITY / 2 + 1}`);
    expect(trail.entries.at(-1)?.decisionId).toBe(`d${MAX_ACTIVITY}`);
    // the outcome of a dropped call is not taken for anything
    trail.end(outcomeRecord('d3', T0 + 99_999, 'ok', 'xyz'));
    expect(trail.entries.some((entry) => entry.outputChars > 0)).toBe(false);
    trail.end(outcomeRecord(`d${MAX_ACTIVITY}`, T0 + 99_999, 'ok', 'xyz'));
    expect(trail.entries.at(-1)?.outputChars).toBe(5);
  });
});

describe('the session projection’s activity', () => {
  it('is resumed only by a resume of its own session', () => {
    const projection = new SessionProjection('session-1', policyFrom('rules: []'));
    projection.apply(1, intentRecord('d1', T0, { monitor: [finding('a', 'pause')] }));
    projection.apply(2, operatorAction('session.resume', 'session-2'));
    expect(projection.activity.stop?.rule).toBe('a');
    projection.apply(3, operatorAction('session.resume', 'session-1'));
    expect(projection.activity.stop).toBeUndefined();
  });
});
