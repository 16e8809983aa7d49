/**
 * @module inspect/approval-waits.test
 * Which held calls the dashboard counts as decided by a human, and from when to when, on a real
 * (in-memory) SQLite audit log; and that concurrent dashboards of one log share their scan and run one
 * at a time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEventV1 } from '../spec/audit-event.js';
import type { AuditLog } from '../store/audit-log.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { dashboardAggregates } from './dashboard-aggregates.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const DAY = 86_400_000;
let log: SqliteAuditLog | undefined;
afterEach(async () => {
  await log?.close();
  log = undefined;
});

const principal = { agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] };
const tool = { server: 'crm', name: 'refund' };

function intent(id: string, at: number): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/intent`,
    time: new Date(at).toISOString(),
    kind: 'call-intent',
    decisionId: id,
    sessionId: 's',
    principal,
    tool,
    links: [],
    args: {},
    decision: { effect: 'approve', matchedRules: [], reasons: [], policyHash: 'sha256:00', diagnostics: [] },
    decisionLatencyUs: 1,
  };
}

function vote(id: string, at: number, by: string, approve = true): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/vote/${by}`,
    time: new Date(at).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: { id: by, roles: ['approver'] },
    action: approve ? 'approval.approve' : 'approval.deny',
    target: { type: 'approval', id },
    reason: 'checked',
    sessionId: 's',
    agentId: 'a',
  };
}

function outcome(
  id: string,
  at: number,
  ended: 'ok' | 'denied' | 'cancelled',
  approval?: { approved: boolean; by: string },
): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/outcome`,
    time: new Date(at).toISOString(),
    kind: 'call-outcome',
    decisionId: id,
    sessionId: 's',
    principal,
    tool,
    links: [{ rel: 'intent', id: `${id}/intent` }],
    outcome: ended,
    ...(approval !== undefined ? { approval } : {}),
    latencyUs: 1,
  };
}

async function logWith(events: AuditEventV1[]): Promise<SqliteAuditLog> {
  log = new SqliteAuditLog({ path: ':memory:' });
  for (const event of events) await log.append(event);
  return log;
}

const day = (audit: AuditLog) => dashboardAggregates(audit, { windowMs: DAY, buckets: 24, now: NOW });

describe('approval waits', () => {
  it('counts refusals and cancellations whose outcome carries the verdict, to the deciding vote', async () => {
    const t0 = NOW - 3_600_000;
    const audit = await logWith([
      intent('refused', t0),
      vote('refused', t0 + 1_000, 'alice', false),
      outcome('refused', t0 + 1_001, 'denied', { approved: false, by: 'alice' }),
      intent('approved-then-suspended', t0),
      vote('approved-then-suspended', t0 + 2_000, 'alice'),
      outcome('approved-then-suspended', t0 + 2_001, 'denied', { approved: true, by: 'alice' }),
      intent('approved-then-killed', t0),
      vote('approved-then-killed', t0 + 3_000, 'alice'),
      outcome('approved-then-killed', t0 + 3_001, 'cancelled', { approved: true, by: 'alice' }),
      intent('cancelled-pending', t0),
      vote('cancelled-pending', t0 + 4_000, 'alice'),
      outcome('cancelled-pending', t0 + 4_001, 'cancelled'),
    ]);
    const waits = (await day(audit)).approvalWaits;
    expect({ count: waits.count, maxMs: waits.maxMs }).toEqual({ count: 3, maxMs: 3_000 });
  });

  it('leaves a call decided before the window to that window, though it ended in this one', async () => {
    const decidedAt = NOW - DAY - 1_000;
    const audit = await logWith([
      intent('old', decidedAt - 60_000),
      vote('old', decidedAt, 'alice'),
      outcome('old', NOW - DAY + 1_000, 'ok', { approved: true, by: 'alice' }),
    ]);
    expect((await day(audit)).approvalWaits.count).toBe(0);
  });

  it('does not look back past its bound for an intent', async () => {
    const audit = await logWith([
      intent('ancient', NOW - 3 * DAY),
      vote('ancient', NOW - 1_000, 'alice'),
      outcome('ancient', NOW - 999, 'ok', { approved: true, by: 'alice' }),
    ]);
    const within = await dashboardAggregates(audit, {
      windowMs: DAY,
      buckets: 1,
      now: NOW,
      lookbackMs: 3 * DAY,
    });
    const short = await dashboardAggregates(audit, { windowMs: DAY, buckets: 1, now: NOW, lookbackMs: DAY });
    expect([within.approvalWaits.maxMs, short.approvalWaits.count]).toEqual([3 * DAY - 1_000, 0]);
  });
});

describe('concurrent dashboards', () => {
  it('share the computation of the same dashboard and run the scans of others one at a time', async () => {
    const real = await logWith([intent('x', NOW - 1_000)]);
    let pages = 0;
    let running = 0;
    let mostAtOnce = 0;
    const counted = {
      queryIndex: async (query: Parameters<AuditLog['queryIndex']>[0]) => {
        pages += 1;
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const rows = await real.queryIndex(query);
        running -= 1;
        return rows;
      },
    } as unknown as AuditLog;
    const same = await Promise.all(
      [0, 1, 2].map((skew) => dashboardAggregates(counted, { windowMs: DAY, buckets: 4, now: NOW + skew })),
    );
    expect(pages).toBe(1);
    expect(same[1]).toBe(same[0]);
    await Promise.all(
      [1, 2, 3].map((buckets) => dashboardAggregates(counted, { windowMs: DAY, buckets, now: NOW })),
    );
    expect({ pages, mostAtOnce }).toEqual({ pages: 4, mostAtOnce: 1 });
  });
});
