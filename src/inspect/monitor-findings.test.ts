/**
 * @module inspect/monitor-findings.test
 * The one-line wording of a finding: a windowed signal says the value observed in its window against
 * the bound, a one-call signal what the baseline held; the baseline, or that there was none yet.
 */
import { describe, expect, it } from 'vitest';
import type { MonitorFinding } from '../spec/monitor.js';
import { describeFinding } from './monitor-findings.js';

const baseline = { from: '2026-12-01T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z', calls: 30 };

describe('describeFinding', () => {
  it('words a windowed finding without a baseline, with the calls it counted', () => {
    const finding: MonitorFinding = {
      rule: 'mass-replies',
      signal: 'rate',
      action: 'pause',
      observed: 3,
      threshold: 2,
      windowMs: 300_000,
      records: ['a', 'b', 'c'],
      message: 'messages sent in a burst: 3 calls in 5m, above 2',
    };
    expect(describeFinding(finding)).toBe(
      'mass-replies (rate, pause): 3 in 5m, above 2; no baseline yet (the rule’s floor applied); 3 calls counted',
    );
  });

  it('words a one-call finding with the baseline value it fell under', () => {
    const finding: MonitorFinding = {
      rule: 'rare-step',
      signal: 'transition',
      action: 'alert',
      observed: 1,
      threshold: 2,
      baseline: { ...baseline, value: 1, describes: 'calls crm/read -> mail/send' },
      records: [],
      message: 'rare',
    };
    expect(describeFinding(finding)).toBe(
      'rare-step (transition, alert): 1 in the baseline, below 2; baseline 2026-12-01T00:00:00.000Z to 2026-12-07T00:00:00.000Z (30 calls): calls crm/read -> mail/send 1',
    );
  });
});
