/**
 * @module test/session-state-postgres.test
 * Two harnesses on one PostgreSQL schema stand for two replicas (issue 14, decision 0020). A decision
 * that reads the session and reserves a limit costs one round trip: it is made against the session as
 * this process last read it, then reserved together with a read of the log since. When that read
 * shows the session moved on in the other replica, the call is decided again, and the reservation is
 * given back if the decision changed — never a stale decision, never a leaked budget unit.
 */
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import { PostgresAuditLog } from '../src/store/postgres/postgres-audit-log.js';
import { PostgresOversightStore } from '../src/store/postgres/postgres-oversight-store.js';
import type { CounterStore } from '../src/store/state-stores.js';
import { policyFrom } from './support/policy-fixtures.js';

const DATABASE_URL = process.env.REINS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const POLICY = policyFrom(
  `
rules:
  - { id: all, effect: allow, reason: allowed unless a limit or sequence says otherwise }
sequences:
  - id: no-pay-after-inbox
    tool: { name: pay }
    forbids: { tool: { name: inbox } }
    reason: nothing is paid once the session has read the inbox
limits:
  - id: payments
    tool: { name: pay }
    per: [session]
    window: 1d
    max: 100
    reason: at most 100 payments a session
`,
  {
    catalogue: `
tools:
  - { server: bank, name: pay, risk: high, effects: [write] }
  - { server: mail, name: inbox, risk: low, effects: [read] }
`,
  },
);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function replica(
  schema: string,
): Promise<{ harness: Harness; counters: CounterStore; trips: () => number }> {
  const audit = await PostgresAuditLog.open({ connectionString: DATABASE_URL, schema });
  cleanup.push(() => audit.close());
  const oversight = await PostgresOversightStore.open({ connectionString: DATABASE_URL, schema });
  cleanup.push(() => oversight.close());
  let combined = 0;
  const store = oversight.counters;
  const reserveAndReadLog = store.reserveAndReadLog?.bind(store);
  if (reserveAndReadLog === undefined) throw new Error('PostgreSQL offers the one-trip reservation');
  const counters: CounterStore = {
    reserve: (...args) => store.reserve(...args),
    release: (id) => store.release(id),
    totals: (keys) => store.totals(keys),
    prune: (before) => store.prune(before),
    acquireLease: (...args) => store.acquireLease(...args),
    releaseLease: (key, holder) => store.releaseLease(key, holder),
    reserveAndReadLog: (...args) => {
      combined++;
      return reserveAndReadLog(...args);
    },
  };
  return {
    harness: new Harness({ policy: { current: POLICY }, audit, counters }),
    counters,
    trips: () => combined,
  };
}

const call = (server: string, name: string) => ({
  principal: { agentId: 'clerk' },
  sessionId: 'case-1',
  tool: { server, name },
  args: {},
});
const tool = async () => 'done';

describe('one round trip for a decision that reads the session and reserves', () => {
  it('decides again when the other replica moved the session on, and gives the budget back', async () => {
    const schema = `reins_test_${randomBytes(6).toString('hex')}`;
    cleanup.push(async () => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop schema if exists ${escapeIdentifier(schema)} cascade`);
      await client.end();
    });
    const a = await replica(schema);
    const b = await replica(schema);
    expect((await a.harness.call(call('bank', 'pay'), tool)).status).toBe('ok');
    // the session is in A's memory now: the next payment takes the one-trip path
    expect((await a.harness.call(call('bank', 'pay'), tool)).status).toBe('ok');
    expect(a.trips()).toBe(1);

    expect((await b.harness.call(call('mail', 'inbox'), tool)).status).toBe('ok');
    const stale = await a.harness.call(call('bank', 'pay'), tool);
    expect(a.trips()).toBe(2);
    expect(stale.status).toBe('denied');
    expect(stale.decision.matchedRules).toContain('no-pay-after-inbox');
    const totals = await a.counters.totals([{ key: 'payments|session=case-1', sinceMs: 0 }]);
    expect(totals.get('payments|session=case-1')).toBe(2);
  });
});
