/**
 * @module test/dashboard-aggregates-postgres.test
 * The dashboard's aggregates (issue 17) read the same from PostgreSQL as from SQLite: the same records
 * — allowed, denied and held calls, votes on the held ones, outcomes naming who decided, a held call
 * that expired after a vote, one refused with no verdict after a first vote, one held before the window
 * and refused in it, records outside the window — appended to a real PostgreSQL audit log and
 * to an SQLite one give the same, exact dashboard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardAggregates } from '../src/inspect/dashboard-aggregates.js';
import type { AuditEventV1 } from '../src/spec/audit-event.js';
import type { AuditLog } from '../src/store/audit-log.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);
const NOW = T0 + 3_600_000;
const principal = { agentId: 'clerk', roles: [], delegatedBy: [], parentSessions: [] };

function at(ms: number): string {
  return new Date(ms).toISOString();
}

function intent(id: string, time: number, effect: 'allow' | 'deny' | 'approve', name: string): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/intent`,
    time: at(time),
    kind: 'call-intent',
    decisionId: id,
    sessionId: 's1',
    principal,
    tool: { server: 'crm', name },
    links: [],
    args: {},
    decision: { effect, matchedRules: [], reasons: [], policyHash: 'sha256:00', diagnostics: [] },
    decisionLatencyUs: 1,
  };
}

function vote(id: string, time: number, approved: boolean): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/vote/${time}`,
    time: at(time),
    kind: 'operator-action',
    decisionId: id,
    actor: { id: 'alex@example.com', roles: ['approver'] },
    action: approved ? 'approval.approve' : 'approval.deny',
    target: { type: 'approval', id },
    reason: 'checked',
    sessionId: 's1',
    agentId: 'clerk',
  };
}

function outcome(id: string, time: number, approval?: { approved: boolean; by?: string }): AuditEventV1 {
  return {
    v: 1,
    id: `${id}/outcome`,
    time: at(time),
    kind: 'call-outcome',
    decisionId: id,
    sessionId: 's1',
    principal,
    tool: { server: 'crm', name: 'export' },
    links: [{ rel: 'intent', id: `${id}/intent` }],
    outcome: approval === undefined || approval.approved ? 'ok' : approval.by ? 'denied' : 'expired',
    ...(approval ? { approval } : {}),
    latencyUs: 5,
  };
}

const EVENTS: AuditEventV1[] = [
  intent('old', T0 - 1, 'deny', 'drop'), // before the window
  // held before the window, refused in it: waited 30 minutes (its intent is found looking back)
  intent('h4', T0 - 600_000, 'approve', 'export'),
  intent('a1', T0 + 60_000, 'allow', 'read'),
  intent('a2', T0 + 1_900_000, 'allow', 'read'),
  intent('d1', T0 + 100_000, 'deny', 'drop'),
  intent('d2', T0 + 2_000_000, 'deny', 'drop'),
  intent('d3', T0 + 3_000_000, 'deny', 'export'),
  // held, approved by a second vote 90 s later (a quorum of two): waited 90 s
  intent('h1', T0 + 200_000, 'approve', 'export'),
  vote('h1', T0 + 230_000, true),
  vote('h1', T0 + 290_000, true),
  outcome('h1', T0 + 290_500, { approved: true, by: 'alex@example.com, bo@example.com' }),
  // held, refused after 20 minutes
  intent('h2', T0 + 1_000_000, 'approve', 'export'),
  vote('h2', T0 + 2_200_000, false),
  outcome('h2', T0 + 2_200_001, { approved: false, by: 'alex@example.com' }),
  // held, one vote of two, then expired: not decided by a human
  intent('h3', T0 + 1_100_000, 'approve', 'export'),
  vote('h3', T0 + 1_200_000, true),
  outcome('h3', T0 + 2_900_000, { approved: false }),
  // held, one vote of two, then refused because the agent was suspended: no human decided it
  intent('h5', T0 + 1_300_000, 'approve', 'export'),
  vote('h5', T0 + 1_400_000, true),
  {
    ...outcome('h5', T0 + 1_500_000),
    outcome: 'denied',
    error: 'agent `clerk` is suspended: the held call is refused',
  } as AuditEventV1,
  vote('h4', T0 + 1_200_000, false),
  outcome('h4', T0 + 1_200_001, { approved: false, by: 'bo@example.com' }),
  intent('late', NOW, 'allow', 'read'), // at the window's end: not in it
];

const EXPECTED = {
  window: { from: at(T0), to: at(NOW), durationMs: 3_600_000, bucketMs: 1_200_000 },
  decisions: {
    buckets: [
      { start: at(T0), allow: 1, deny: 1, approve: 3 },
      { start: at(T0 + 1_200_000), allow: 1, deny: 1, approve: 1 },
      { start: at(T0 + 2_400_000), allow: 0, deny: 1, approve: 0 },
    ],
    totals: { allow: 2, deny: 3, approve: 4 },
  },
  topDenied: [
    { tool: 'crm/drop', count: 2 },
    { tool: 'crm/export', count: 1 },
  ],
  approvalWaits: { count: 3, p50Ms: 1_200_000, p90Ms: 1_800_000, maxMs: 1_800_000 },
  // 20 in the window, 2 read before it for h4's intent
  scan: { records: 22, truncated: false },
};

let database: TestDatabase;
let postgres: PostgresAuditLog;
let sqlite: SqliteAuditLog;

beforeAll(async () => {
  database = await createTestDatabase('reins_dashboard');
  postgres = await PostgresAuditLog.open({ connectionString: database.url });
  sqlite = new SqliteAuditLog({ path: ':memory:' });
  for (const event of EVENTS) {
    await postgres.append(event);
    await sqlite.append(event);
  }
}, 30_000);

afterAll(async () => {
  await postgres?.close();
  await sqlite?.close();
  await database?.drop();
});

describe('dashboard aggregates on PostgreSQL and SQLite', () => {
  for (const [name, log] of [
    ['PostgreSQL', () => postgres],
    ['SQLite', () => sqlite],
  ] as const) {
    it(`${name}: counts the window exactly`, async () => {
      const audit: AuditLog = log();
      const result = await dashboardAggregates(audit, { windowMs: 3_600_000, buckets: 3, now: NOW });
      expect(result).toMatchObject(EXPECTED);
      expect(result.approvalWaits.histogram.find((bin) => bin.upToMs === 300_000)?.count).toBe(1);
      expect(result.approvalWaits.histogram.find((bin) => bin.upToMs === 3_600_000)?.count).toBe(2);
    });
  }

  it('reads a bounded scan the same on both', async () => {
    const options = { windowMs: 3_600_000, buckets: 3, now: NOW, maxRecords: 4 };
    const [fromPostgres, fromSqlite] = [
      await dashboardAggregates(postgres, options),
      await dashboardAggregates(sqlite, options),
    ];
    expect(fromPostgres.scan).toEqual({ records: 4, truncated: true });
    expect(fromPostgres).toEqual(fromSqlite);
  });
});
