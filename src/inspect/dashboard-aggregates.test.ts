/**
 * @module inspect/dashboard-aggregates.test
 * The dashboard's sums on a real (in-memory) SQLite audit log with records at known times: which
 * bucket a record falls in, the window's edges, the scan's bound (counted up to it, and said), and the
 * percentiles and histogram of approval waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventV1 } from '../spec/audit-event.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { approvalWaits, dashboardAggregates } from './dashboard-aggregates.js';

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);
let log: SqliteAuditLog | undefined;

afterEach(async () => {
  await log?.close();
  log = undefined;
});

function intent(id: string, at: number, effect: 'allow' | 'deny' | 'approve', name = 'read'): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/intent`,
    time: new Date(at).toISOString(),
    kind: 'call-intent',
    decisionId: id,
    sessionId: 's',
    principal: { agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] },
    tool: { server: 'crm', name },
    links: [],
    args: {},
    decision: { effect, matchedRules: [], reasons: [], policyHash: 'sha256:00', diagnostics: [] },
    decisionLatencyUs: 1,
  };
}

async function logWith(events: AuditEventV1[]): Promise<SqliteAuditLog> {
  log = new SqliteAuditLog({ path: ':memory:' });
  for (const event of events) await log.append(event);
  return log;
}

describe('dashboardAggregates', () => {
  it('puts each intent in the bucket its time falls in; the window starts inclusive and ends before now', async () => {
    const audit = await logWith([
      intent('before', T0 - 1, 'allow'),
      intent('first', T0, 'allow'),
      intent('edge', T0 + 60_000, 'deny'),
      intent('last', T0 + 119_999, 'approve'),
      intent('now', T0 + 120_000, 'allow'),
    ]);
    const result = await dashboardAggregates(audit, { windowMs: 120_000, buckets: 2, now: T0 + 120_000 });
    expect(result.decisions.buckets).toEqual([
      { start: new Date(T0).toISOString(), allow: 1, deny: 0, approve: 0 },
      { start: new Date(T0 + 60_000).toISOString(), allow: 0, deny: 1, approve: 1 },
    ]);
    expect(result.topDenied).toEqual([{ tool: 'crm/read', count: 1 }]);
    expect(result.scan).toEqual({ records: 3, truncated: false });
  });

  it('counts up to its bound and says the window held more', async () => {
    const audit = await logWith(
      Array.from({ length: 7 }, (_, index) => intent(`d${index}`, T0 + index, index % 2 ? 'deny' : 'allow')),
    );
    const cut = await dashboardAggregates(audit, {
      windowMs: 60_000,
      buckets: 1,
      now: T0 + 1_000,
      maxRecords: 5,
    });
    expect(cut.scan).toEqual({ records: 5, truncated: true });
    expect(cut.decisions.totals).toEqual({ allow: 3, deny: 2, approve: 0 });
    const whole = await dashboardAggregates(audit, {
      windowMs: 60_000,
      buckets: 1,
      now: T0 + 1_000,
      maxRecords: 7,
    });
    expect(whole.scan).toEqual({ records: 7, truncated: false });
  });

  it('ranks denied tools by count, then by name, ten at most', async () => {
    const events = Array.from({ length: 12 }, (_, index) =>
      intent(`d${index}`, T0 + index, 'deny', `t${index % 11}`),
    );
    const audit = await logWith(events);
    const result = await dashboardAggregates(audit, { windowMs: 60_000, buckets: 1, now: T0 + 1_000 });
    expect(result.topDenied).toHaveLength(10);
    expect(result.topDenied[0]).toEqual({ tool: 'crm/t0', count: 2 });
    expect(result.topDenied.slice(1).map((entry) => entry.tool.slice(4))).toEqual([
      't1',
      't10',
      't2',
      't3',
      't4',
      't5',
      't6',
      't7',
      't8',
    ]);
  });
});

describe('approvalWaits', () => {
  it('gives nearest-rank percentiles, the maximum and a histogram', () => {
    const waits = approvalWaits([10_000, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]);
    expect(waits).toMatchObject({ count: 10, p50Ms: 5_000, p90Ms: 9_000, maxMs: 10_000 });
    expect(waits.histogram[0]).toEqual({ upToMs: 5_000, count: 4 });
    expect(waits.histogram[1]).toEqual({ upToMs: 15_000, count: 6 });
    expect(waits.histogram.at(-1)).toEqual({ upToMs: null, count: 0 });
    expect(approvalWaits([100_000_000]).histogram.at(-1)).toEqual({ upToMs: null, count: 1 });
    expect(approvalWaits([])).toEqual({ count: 0, histogram: expect.any(Array) });
  });
});
