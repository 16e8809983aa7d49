/**
 * @module spec/compliance.test
 * How the scheduled scan's last report is served: current, stale after a failed attempt, or stale once
 * it is older than twice the schedule's period (no scan finished since).
 */
import { describe, expect, it } from 'vitest';
import { type ComplianceReport, DEFAULT_COMPLIANCE_THRESHOLDS, servedCompliance } from './compliance.js';

const AT = Date.parse('2026-01-01T00:00:00.000Z');
const report: ComplianceReport = {
  at: new Date(AT).toISOString(),
  windowStart: new Date(AT - DEFAULT_COMPLIANCE_THRESHOLDS.unusedAfterMs).toISOString(),
  thresholds: { ...DEFAULT_COMPLIANCE_THRESHOLDS },
  findings: [],
  checks: [],
};
const state = { report, lastAttemptAt: report.at, lastError: undefined, everyMs: 60_000 };

describe('servedCompliance', () => {
  it('serves a recent report as current', () => {
    expect(servedCompliance(state, AT + 60_000)).toEqual({
      ...report,
      stale: false,
      lastAttemptAt: report.at,
    });
  });

  it('marks the report stale with the error when the last attempt failed', () => {
    const served = servedCompliance(
      { ...state, lastAttemptAt: '2026-01-01T00:01:00.000Z', lastError: 'cannot read checkpoints' },
      AT + 61_000,
    );
    expect(served).toMatchObject({ stale: true, lastError: 'cannot read checkpoints' });
    expect(served.staleReason).toContain('cannot read checkpoints');
  });

  it('marks the report stale once it is older than twice the period', () => {
    const served = servedCompliance(state, AT + 120_001);
    expect(served.stale).toBe(true);
    expect(served.staleReason).toContain('older than twice the schedule');
  });
});
