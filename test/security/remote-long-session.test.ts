/**
 * Attack (issue 15 review), at the harness level (the HTTP layer adds nothing here): a call is found
 * by reading its session back newest first, at most 50,000 records (harness/open-calls
 * MAX_RECORDS_SEARCHED). In a long session — or one an agent pads on purpose with cheap denied calls —
 * an earlier ready call can no longer be completed (404: its outcome is never recorded), and its call
 * id opens a *second* call under the same decision id (idempotency lost, two intents with one id).
 *
 * Fixed: a call's records are found by decision id within the session's index, however long the
 * session (no scan of its records).
 */
import { describe, expect, it } from 'vitest';
import { Harness } from '../../src/harness/harness.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { policyFrom } from '../support/policy-fixtures.js';

const POLICY = policyFrom(
  `
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
  - { id: no-dump, effect: deny, tool: { server: app, name: dump }, reason: never }
`,
  {
    catalogue: `
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: dump, risk: high, effects: [write] }
`,
  },
);

describe('a call early in a long session', () => {
  it('can still be completed, and its call id still names it', async () => {
    const log = new SqliteAuditLog({ path: ':memory:' });
    try {
      const harness = new Harness({ policy: { current: POLICY }, audit: log });
      const principal = { agentId: 'assistant', roles: [], delegatedBy: [], parentSessions: [] };
      const caller = { principal, sessionId: 'long' };
      const request = (name: string, args: Record<string, unknown>) => ({
        principal,
        sessionId: 'long',
        tool: { server: 'app', name },
        args,
      });
      const first = await harness.open(request('lookup', { q: 'first' }), 'tool-call-1');
      expect(first).toMatchObject({ ok: true, state: { status: 'ready' } });
      const id = (first as { state: { id: string } }).state.id;
      // 25,001 denied calls: 50,002 records (intent + outcome each)
      for (let batch = 0; batch < 250; batch++)
        await Promise.all(
          Array.from({ length: 100 }, (_, index) =>
            harness.open(request('dump', { n: batch * 100 + index })),
          ),
        );
      await harness.open(request('dump', { n: 'last' }));
      const completed = await harness.complete(caller, id, { ok: true, result: 'found it' });
      const reopened = await harness.open(request('lookup', { q: 'different arguments' }), 'tool-call-1');
      const intents = await log.query({ sessionId: 'long', kind: 'call-intent', limit: 5, order: 'asc' });
      console.log({ completed, reopened });
      expect({
        completed: completed.ok,
        reopened: reopened.ok ? reopened.state.status : reopened.code,
      }).toEqual({ completed: true, reopened: 'call_conflict' });
      expect(
        intents.filter(({ event }) => event.kind === 'call-intent' && event.decisionId === id),
      ).toHaveLength(1);
    } finally {
      await log.close();
    }
  }, 180_000);
});
