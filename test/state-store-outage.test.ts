/**
 * @module test/state-store-outage.test
 * The store going away mid-run (PostgreSQL behind a relay that the test cuts): a call whose decision
 * needs the session state or the limit counters is denied with a reason that says so, nothing runs,
 * and service resumes by itself when the store is back — with the limit still counted exactly.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { PostgresOversightStore } from '../src/store/postgres/postgres-oversight-store.js';
import { eventually } from './support/eventually.js';
import { policyFrom } from './support/policy-fixtures.js';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const POLICY = policyFrom(
  `
rules:
  - { id: all, effect: allow, reason: allowed unless a limit or sequence says otherwise }
sequences:
  - id: lookup-first
    tool: { name: pay }
    requires: { tool: { name: lookup } }
    reason: look the invoice up first
limits:
  - id: three-payments
    tool: { name: pay }
    per: [session]
    window: 1d
    max: 3
    reason: at most three payments a session
`,
  {
    catalogue: `
tools:
  - { server: bank, name: lookup, risk: low, effects: [read] }
  - { server: bank, name: pay, risk: high, effects: [write, external] }
`,
  },
);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function deployment(relay: TcpRelay) {
  const schema = `reins_test_${randomBytes(6).toString('hex')}`;
  cleanup.push(async () => {
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
    await client.end();
  });
  const url = `postgres://postgres@127.0.0.1:${relay.port}/test`;
  const audit = await PostgresAuditLog.open({ connectionString: url, schema, connectTimeoutMs: 1_000 });
  cleanup.push(() => audit.close());
  const oversight = await PostgresOversightStore.open({
    connectionString: url,
    schema,
    connectTimeoutMs: 1_000,
  });
  cleanup.push(() => oversight.close());
  return new Harness({ policy: { current: POLICY }, audit, counters: oversight.counters });
}

const call = (name: string) => ({
  principal: { agentId: 'clerk' },
  sessionId: 'invoices',
  tool: { server: 'bank', name },
  args: {},
});

describe('the store unreachable mid-run', () => {
  it('denies stateful calls with a clear reason, runs nothing, and recovers when the store returns', async () => {
    const relay = await startTcpRelay(5432);
    cleanup.push(() => relay.close());
    const harness = await deployment(relay);
    let ran = 0;
    const tool = async () => {
      ran++;
      return 'done';
    };
    expect((await harness.call(call('lookup'), tool)).status).toBe('ok');
    expect((await harness.call(call('pay'), tool)).status).toBe('ok');

    relay.cut();
    const during = await harness.call(call('pay'), tool);
    expect(during.status).toBe('denied');
    expect(during.decision.effect).toBe('deny');
    const codes = during.decision.diagnostics.map((diagnostic) => diagnostic.code);
    expect(codes.some((code) => code === 'state_unavailable' || code === 'audit_unavailable')).toBe(true);
    expect(during.status === 'denied' && during.reason).toMatch(/unavailable|could not/);
    expect(ran).toBe(2);

    relay.restore();
    // the pools reconnect on their own: the next calls go through, and the limit still counts exactly
    await eventually(async () => expect((await harness.call(call('pay'), tool)).status).toBe('ok'), {
      timeoutMs: 20_000,
    });
    expect((await harness.call(call('pay'), tool)).status).toBe('ok');
    const fourth = await harness.call(call('pay'), tool);
    expect(fourth.status).toBe('denied');
    expect(fourth.decision.matchedRules).toContain('three-payments');
    expect(ran).toBe(4);
  });
});
