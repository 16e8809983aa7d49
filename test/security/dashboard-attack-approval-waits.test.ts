/**
 * Fixed: (1) a call counts only if its outcome shows a human verdict: it ran (`ok`/`error`: a held
 * call runs only once approved), or it was refused/cancelled and its outcome record carries
 * `approval` (read by seq for those only); (2) a call counts in the window its deciding vote falls in,
 * and an intent older than the window is looked for backwards from the window's first record (at most
 * 31 days and 50,000 records; inspect/approval-waits).
 *
 * Attack: make the dashboard's "Approval wait times" say something the audit log does not.
 *
 * 1. Quorum of two, one vote, then no human decides: approver A votes approve (1 of 2), then the
 *    agent is suspended (or its credential revoked) and the held call ends `denied` with the reason
 *    "...: the held call is refused" and NO approval verdict (harness.ts gate / heldState). The
 *    dashboard treats any `denied` outcome after a vote as "decided by a human" and reports a wait
 *    from the intent to A's non-deciding vote. docs/console.md: "A wait runs from the call's intent
 *    record to the last vote on it (... so the last one decided it); only calls that were voted on and
 *    then ran or were refused count, not those that expired, were cancelled or abandoned (even after a
 *    first vote of a quorum)". The same happens for "approval failed: ..." denials.
 *    Expected safe behaviour: the call is not counted (no human decided it).
 *
 * 2. A held call decided in the window whose intent is older than the window: the schema says
 *    `approvalWaits` are "Held calls a human decided in the window: from the intent to the deciding
 *    vote", but only intents inside the window are considered, so every long wait straddling the
 *    window start is silently dropped (the 24h dashboard can never show the "≥ 1d" bin it draws, and
 *    p90/max are biased low exactly for the slow approvals an operator wants to see).
 *    Expected safe behaviour: a call whose deciding vote is in the window is counted with its full wait.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardAggregates } from '../../src/inspect/dashboard-aggregates.js';
import type { AuditEventV1 } from '../../src/spec/audit-event.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
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

function vote(id: string, at: number, by: string): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/vote/${by}`,
    time: new Date(at).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: { id: by, roles: ['approver'] },
    action: 'approval.approve',
    target: { type: 'approval', id },
    reason: 'looks fine',
    sessionId: 's',
    agentId: 'a',
  };
}

function outcome(
  id: string,
  at: number,
  ended: 'ok' | 'denied',
  error?: string,
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
    ...(error !== undefined ? { error } : {}),
    ...(approval !== undefined ? { approval } : {}),
    latencyUs: 1,
  };
}

function suspend(at: number): AuditEventV1 {
  return {
    v: 1,
    id: `suspend-${at}`,
    time: new Date(at).toISOString(),
    kind: 'operator-action',
    decisionId: `suspend-${at}`,
    actor: { id: 'admin', roles: ['admin'] },
    action: 'agent.suspend',
    target: { type: 'agent', id: 'a' },
    reason: 'misbehaving',
    sessionId: '',
    agentId: 'a',
  };
}

async function logWith(events: AuditEventV1[]): Promise<SqliteAuditLog> {
  log = new SqliteAuditLog({ path: ':memory:' });
  for (const event of events) await log.append(event);
  return log;
}

describe('dashboard attack: approval waits', () => {
  it('does not count a quorum call refused because its agent lost standing after the first vote', async () => {
    const t0 = NOW - 3_600_000;
    const audit = await logWith([
      intent('q2', t0),
      vote('q2', t0 + 10_000, 'alice'), // 1 of 2: decides nothing
      suspend(t0 + 600_000),
      outcome('q2', t0 + 600_001, 'denied', 'agent `a` is suspended: the held call is refused'),
      intent('q3', t0 + 1_000),
      vote('q3', t0 + 2_000, 'alice'),
      outcome('q3', t0 + 3_000, 'denied', 'approval failed: cannot store the approval request: disk I/O'),
    ]);
    const result = await dashboardAggregates(audit, { windowMs: 86_400_000, buckets: 24, now: NOW });
    // no human decided either call: nothing to show as a wait
    expect(result.approvalWaits.count).toBe(0);
  });

  it('counts a held call decided in the window although its intent is older than the window', async () => {
    const intentAt = NOW - 26 * 3_600_000; // held 26 h before the window's end, i.e. 2 h before it starts
    const decidedAt = NOW - 3_600_000; // decided an hour ago: inside the 24h window
    const audit = await logWith([
      intent('slow', intentAt),
      vote('slow', decidedAt, 'alice'),
      outcome('slow', decidedAt + 5, 'ok', undefined, { approved: true, by: 'alice' }),
    ]);
    const result = await dashboardAggregates(audit, { windowMs: 86_400_000, buckets: 24, now: NOW });
    expect(result.approvalWaits.count).toBe(1);
    expect(result.approvalWaits.maxMs).toBe(decidedAt - intentAt);
    expect(result.approvalWaits.histogram.at(-1)).toEqual({ upToMs: null, count: 1 });
  });
});
