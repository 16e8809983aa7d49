/**
 * @module test/policy-diff.test
 * `diffPolicies` on traffic recorded through the real pipeline (Harness + SQLite audit log; the same on
 * PostgreSQL is test/policy-diff-postgres.test.ts): the policy
 * that recorded the log reproduces every recorded decision — role-based allows, scope denials, sequence
 * and limit rules, flow rules, redaction blocks, killed sessions — and a candidate that tightens one
 * rule changes exactly the calls that rule decides. The end-to-end version through the gateway and
 * the CLI is test/cli-policy-diff.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { diffPolicies } from '../src/policy/policy-diff.js';
import { RecordedTraffic, type TrafficRecord } from '../src/policy/recorded-traffic.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { policyFrom } from './support/policy-fixtures.js';
import {
  BASE,
  CATALOGUE,
  RULES,
  recordTraffic as recordFixtureTraffic,
} from './support/recorded-traffic-fixture.js';

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

function recordTraffic(): Promise<TrafficRecord[]> {
  const log = new SqliteAuditLog({ path: ':memory:' });
  logs.push(log);
  return recordFixtureTraffic(log);
}

describe('policy diff on recorded traffic', () => {
  it('the policy that recorded the log reproduces every recorded decision (no changes, no drift)', async () => {
    const records = await recordTraffic();
    const recorded = records.flatMap(({ event }) =>
      event.kind === 'call-intent' ? [event.decision.effect] : [],
    );
    // the traffic exercises every kind of decision, or this test would prove little
    expect(recorded.filter((effect) => effect === 'deny').length).toBeGreaterThanOrEqual(8);
    expect(recorded.filter((effect) => effect === 'allow').length).toBeGreaterThanOrEqual(6);
    const report = diffPolicies(records, BASE, BASE);
    expect(report.calls).toBe(recorded.length);
    expect(report.drift).toEqual([]);
    expect(report.changes).toEqual([]);
    expect(report.otherPolicy).toBe(0);
  });

  it('each recorded decision is reproduced by what determined it, not just its effect', async () => {
    const records = await recordTraffic();
    const decidedBy: string[][] = [];
    new RecordedTraffic([BASE]).replay(records, (_call, [decision]) =>
      decidedBy.push([...(decision?.decidedBy ?? [])]),
    );
    const recorded = records.flatMap(({ event }) =>
      event.kind === 'call-intent' ? [event.decision.decidedBy] : [],
    );
    expect(decidedBy).toEqual(recorded);
    expect(decidedBy.flat()).toEqual(
      expect.arrayContaining([
        'ops-may-write',
        'reins.default-deny',
        'reins.credential-scope',
        'pay-after-lookup',
        'three-lookups',
        'no-writes-after-web',
        'payee-provenance',
        'reins.redaction',
        'reins.session-killed',
        'reins.session_agent_mismatch',
      ]),
    );
  });

  it('a candidate that tightens one rule lists exactly the calls it affects', async () => {
    const records = await recordTraffic();
    const tightened = policyFrom(RULES.replace('max: 3', 'max: 2'), {
      catalogue: CATALOGUE,
      name: 'candidate',
    });
    const report = diffPolicies(records, BASE, tightened);
    expect(report.drift).toEqual([]);
    // lookup C (the third) is now over the limit; and so the payment... of D was already denied
    expect(
      report.changes.map((change) => [change.tool, change.base.effect, change.candidate.effect]),
    ).toEqual([['pay/payments.lookup', 'allow', 'deny']]);
    expect(report.byRule).toEqual({ 'three-lookups': 1 });
    expect(report.byTool).toEqual({ 'pay/payments.lookup': 1 });
  });

  it('a candidate that loosens redaction shows the blocked secret as allowed (placeholders count as findings)', async () => {
    const records = await recordTraffic();
    const loosened = policyFrom(
      RULES.replace('{ secret: block }', '{ secret: block, aws_access_key: allow }'),
      {
        catalogue: CATALOGUE,
        name: 'loose',
      },
    );
    const report = diffPolicies(records, BASE, loosened);
    expect(
      report.changes.map((change) => [change.sessionId, change.base.decidedBy, change.candidate.effect]),
    ).toEqual([['s-key', ['reins.redaction'], 'allow']]);
  });
});
