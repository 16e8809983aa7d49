/**
 * @module audit/calls-without-outcome.test
 * Intents without an outcome are found and named, newest last; an outcome closes its intent.
 */
import { describe, expect, it } from 'vitest';
import type { ChainedRecord } from '../spec/audit-event.js';
import { callsWithoutOutcome, describeCallsWithoutOutcome } from './calls-without-outcome.js';

function record(seq: number, kind: string, decisionId: string): ChainedRecord {
  return {
    seq,
    prevHash: '',
    hash: '',
    body: '{}',
    time: '2026-12-07T00:00:00Z',
    kind,
    decisionId,
    sessionId: 's',
    agentId: 'a',
    tool: 't',
    effect: 'allow',
  } as ChainedRecord;
}

describe('calls without an outcome', () => {
  it('names the intents no outcome followed, and nothing when every call ended', async () => {
    const records = [
      record(1, 'call-intent', 'a'),
      record(2, 'call-intent', 'b'),
      record(3, 'call-outcome', 'a'),
      record(4, 'policy-loaded', ''),
      record(5, 'call-intent', 'c'),
    ];
    const found = await callsWithoutOutcome(records);
    expect(found).toEqual({
      count: 2,
      newest: [
        { seq: 2, decisionId: 'b' },
        { seq: 5, decisionId: 'c' },
      ],
    });
    expect(describeCallsWithoutOutcome(found)).toMatch(/^calls without an outcome: 2 \(records 2, 5\)/);
    const closed = await callsWithoutOutcome(records.slice(0, 4).concat(record(6, 'call-outcome', 'b')));
    expect(closed.count).toBe(0);
    expect(describeCallsWithoutOutcome(closed)).toBeUndefined();
  });

  it('keeps only the newest in its sample', async () => {
    const records = Array.from({ length: 8 }, (_, index) => record(index + 1, 'call-intent', `d${index}`));
    const found = await callsWithoutOutcome(records, 3);
    expect(found.count).toBe(8);
    expect(found.newest.map((call) => call.seq)).toEqual([6, 7, 8]);
    expect(describeCallsWithoutOutcome(found)).toMatch(/the newest at records 6, 7, 8/);
  });
});
