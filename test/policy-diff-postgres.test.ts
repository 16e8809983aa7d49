/**
 * @module test/policy-diff-postgres.test
 * The policy diff on a PostgreSQL audit log: the same traffic as test/policy-diff.test.ts, recorded
 * through the pipeline into a real PostgreSQL server, read back through the store interface: the
 * recording policy changes nothing, a tightened limit changes exactly the call it affects.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { afterAll, expect, it } from 'vitest';
import { diffPolicies } from '../src/policy/policy-diff.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { policyFrom } from './support/policy-fixtures.js';
import { BASE, CATALOGUE, RULES, recordTraffic } from './support/recorded-traffic-fixture.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `reins_diff_${randomBytes(6).toString('hex')}`;

afterAll(async () => {
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
  await admin.end();
});

it('diffs policies over traffic recorded in PostgreSQL', async () => {
  const log = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
  try {
    const records = await recordTraffic(log);
    expect(records.length).toBeGreaterThan(30);
    const same = diffPolicies(records, BASE, BASE);
    expect(same.drift).toEqual([]);
    expect(same.changes).toEqual([]);
    const tightened = policyFrom(RULES.replace('max: 3', 'max: 2'), {
      catalogue: CATALOGUE,
      name: 'candidate',
    });
    const report = diffPolicies(records, BASE, tightened);
    expect(
      report.changes.map((change) => [change.tool, change.base.effect, change.candidate.effect]),
    ).toEqual([['pay/payments.lookup', 'allow', 'deny']]);
  } finally {
    await log.close();
  }
});
