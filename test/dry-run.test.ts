/**
 * @module test/dry-run.test
 * The dry run (inspect/dry-run) on a real SQLite audit log written by the pipeline: it decides against
 * the named session's recorded state without adding to the log, refuses another agent's session as the
 * gateway would, starts a session the log has never seen fresh, and refuses to read more records than
 * its cap rather than deciding on a partial history.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import { dryRun } from '../src/inspect/dry-run.js';
import { readSessionTraffic } from '../src/inspect/recorded-traffic-reader.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { policyFrom } from './support/policy-fixtures.js';

const POLICY = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allowed }
sequences:
  - id: no-writes-after-web
    tool: { effects: write }
    forbids: { tool: { server: web } }
    reason: no writes once the session has read the web
`);
const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

async function recorded(): Promise<SqliteAuditLog> {
  const log = new SqliteAuditLog({ path: ':memory:' });
  logs.push(log);
  const harness = new Harness({ policy: { current: POLICY }, audit: log });
  const principal = { agentId: 'bot' };
  await harness.call(
    { principal, sessionId: 's1', tool: { server: 'web', name: 'fetch' } },
    async () => 'page',
  );
  return log;
}

const write = (agentId: string, sessionId: string) => ({
  principal: { agentId, roles: [], delegatedBy: [], parentSessions: [] },
  sessionId,
  tool: { server: 'crm', name: 'db.execute' },
  args: {},
  context: {},
});

describe('dry run against the audit log', () => {
  it("reads the session's history without adding to the log", async () => {
    const log = await recorded();
    const before = (await log.query({ limit: 100 })).length;
    const decision = await dryRun(POLICY, { call: write('bot', 's1'), now: Date.now(), log });
    expect(decision.effect).toBe('deny');
    expect(decision.decidedBy).toEqual(['no-writes-after-web']);
    expect((await log.query({ limit: 100 })).length).toBe(before);
    expect((await dryRun(POLICY, { call: write('bot', 'new-session'), now: Date.now(), log })).effect).toBe(
      'allow',
    );
  });

  it("refuses another agent's session as the gateway does", async () => {
    const log = await recorded();
    const decision = await dryRun(POLICY, { call: write('intruder', 's1'), now: Date.now(), log });
    expect(decision.effect).toBe('deny');
    expect(decision.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['session_agent_mismatch']);
  });

  it('counts what really ran towards limits, even calls the policy now in force would refuse', async () => {
    const log = new SqliteAuditLog({ path: ':memory:' });
    logs.push(log);
    const limited = (extra: string) =>
      policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allowed }
${extra}
limits:
  - { id: two-writes, tool: { name: db.execute }, per: [session], window: 1h, max: 2, reason: two writes an hour }
`);
    // two writes ran under yesterday's policy; today's refuses such writes, but they happened
    const harness = new Harness({ policy: { current: limited('') }, audit: log });
    for (const sql of ['old 1', 'old 2'])
      await harness.call(
        {
          principal: { agentId: 'bot' },
          sessionId: 's2',
          tool: { server: 'crm', name: 'db.execute' },
          args: { sql },
        },
        async () => 'done',
      );
    const today = limited(
      '  - { id: no-old, effect: deny, tool: { name: db.execute }, when: \'args.sql.startsWith("old")\', reason: no old writes }',
    );
    const third = { ...write('bot', 's2'), args: { sql: 'new' } };
    const decision = await dryRun(today, { call: third, now: Date.now(), log });
    expect(decision.effect).toBe('deny');
    expect(decision.decidedBy).toEqual(['two-writes']);
  });

  it('refuses a session whose history is full, as the harness does', async () => {
    const log = await recorded();
    const decision = await dryRun(POLICY, {
      call: { ...write('bot', 's1'), tool: { server: 'crm', name: 'db.select' } },
      now: Date.now(),
      log,
      maxSessionHistory: 1,
    });
    expect(decision.effect).toBe('deny');
    expect(decision.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['session_history_full']);
  });

  it('refuses to read more records than its cap instead of deciding on part of them', async () => {
    const log = await recorded();
    await expect(readSessionTraffic(log, 's1', Date.now(), 0, 1)).rejects.toThrow(/too many for a dry run/);
    expect(await readSessionTraffic(log, 's1', Date.now(), 0, 2)).toHaveLength(2);
  });
});
