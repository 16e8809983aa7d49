/**
 * @module test/monitor-pipeline.test
 * The runtime monitor through the real pipeline on one SQLite file shared by two "processes" (two
 * harnesses, each with its own store connections): an agent that bursts (a bulk read, then external
 * sends) is alerted on, then stopped at the call that crosses the pause rule's bound; the stop is on
 * record with its evidence (the finding in the intent, the operator action of `reins:monitor`), holds
 * in the other process and after a restart, and ends only when an operator resumes the session. An
 * agent with a learned baseline is judged against it (relative bounds, new tools), and the baseline
 * is learned from the log alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { AgentStanding } from '../src/auth/agent-standing.js';
import { durableApprovals } from '../src/harness/durable-approvals.js';
import { Harness } from '../src/harness/harness.js';
import { SharedSessionRegistry } from '../src/harness/shared-session-registry.js';
import { LoggedBaselines, readBaselines } from '../src/inspect/monitor-baselines.js';
import { MONITOR_ACTOR, monitorResponder } from '../src/oversight/monitor-response.js';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { CallIntentEvent, OperatorActionEvent } from '../src/spec/audit-event.js';
import type { MonitorEvent } from '../src/spec/monitor.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import { eventually } from './support/eventually.js';
import { policyFrom } from './support/policy-fixtures.js';

const CATALOGUE = `
tools:
  - { server: crm, name: contacts.read, risk: low, effects: [read] }
  - { server: crm, name: notes.read, risk: low, effects: [read] }
  - { server: mail, name: send, risk: high, effects: [external] }
`;
const MONITOR = `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  baseline: { window: 7d, minCalls: 20 }
  rules:
    - id: bulk-read
      signal: rate
      agents: exporter
      tool: { effects: [read] }
      window: 1m
      above: 5
      action: alert
      reason: a bulk read
    - id: mass-mailing
      signal: rate
      agents: exporter
      tool: { effects: [external] }
      window: 5m
      above: 2
      action: pause
      reason: external sends in a burst
    - id: busier-than-usual
      signal: rate
      agents: trained
      window: 10m
      factor: 2
      action: alert
      reason: busier than this agent has ever been
    - id: never-before
      signal: new-tool
      agents: trained
      action: hold
      reason: a tool this agent never used
`;
const policy: PreparedPolicy = policyFrom(MONITOR, { catalogue: CATALOGUE });

interface Process {
  readonly harness: Harness;
  readonly audit: SqliteAuditLog;
  readonly oversightStore: SqliteOversightStore;
  readonly sessions: SharedSessionRegistry;
}

let directory: string;
let path: string;
let now: number;
let identities: SqliteIdentityStore;
let oversight: StoreOversight;
let operatorAudit: SqliteAuditLog;
let operatorStore: SqliteOversightStore;
const processes: Process[] = [];
const told: MonitorEvent[] = [];
const logged: string[] = [];

async function startProcess(baselines?: LoggedBaselines): Promise<Process> {
  const audit = new SqliteAuditLog({ path });
  const oversightStore = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  const sessions = await SharedSessionRegistry.start(oversightStore.sessions);
  const respond = monitorResponder({ oversight: async () => oversight, log: (line) => logged.push(line) });
  const harness = new Harness({
    policy: { current: policy },
    audit,
    sessions,
    clock: () => now,
    ...(baselines !== undefined ? { baselines } : {}),
    onMonitorFindings: async (event) => {
      told.push(event);
      await respond(event);
    },
  });
  const process = { harness, audit, oversightStore, sessions };
  processes.push(process);
  return process;
}

async function stopProcess(process: Process): Promise<void> {
  processes.splice(processes.indexOf(process), 1);
  await process.harness.settled();
  process.sessions.stop();
  await process.oversightStore.close();
  await process.audit.close();
}

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-monitor-'));
  path = join(directory, 'reins.db');
  now = Date.parse('2026-12-07T10:00:00Z');
  identities = new SqliteIdentityStore({ path });
  operatorAudit = new SqliteAuditLog({ path });
  operatorStore = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  oversight = new StoreOversight({
    approvals: operatorStore.approvals,
    sessions: operatorStore.sessions,
    identities,
    audit: operatorAudit,
    clock: () => now,
  });
  told.length = 0;
  logged.length = 0;
});

afterEach(async () => {
  for (const process of [...processes]) await stopProcess(process);
  await operatorStore.close();
  await operatorAudit.close();
  await identities.close();
  rmSync(directory, { recursive: true, force: true });
});

const principal = { agentId: 'exporter' };
const read = (sessionId: string, n: number) => ({
  principal,
  sessionId,
  tool: { server: 'crm', name: n % 2 === 0 ? 'contacts.read' : 'notes.read' },
  args: { page: n },
});
const send = (sessionId: string, n: number) => ({
  principal,
  sessionId,
  tool: { server: 'mail', name: 'send' },
  args: { to: `someone${n}@example.com`, body: 'the export' },
});
const ok = async () => ({ rows: ['a', 'b'] });

async function intents(audit: SqliteAuditLog, sessionId: string): Promise<CallIntentEvent[]> {
  const records = await audit.query({ sessionId, kind: 'call-intent', limit: 1_000 });
  return records.map((record) => record.event as CallIntentEvent);
}

describe('a burst is stopped, on record, in every process', () => {
  it('alerts once on the bulk read, pauses at the send that crosses the bound, and names its evidence', async () => {
    const a = await startProcess();
    const reads: string[] = [];
    for (let n = 0; n < 8; n++) {
      now += 1_000;
      const result = await a.harness.call(read('s1', n), ok);
      expect(result.status).toBe('ok');
      reads.push(result.decisionId);
    }
    let recorded = await intents(a.audit, 's1');
    // the sixth read crosses `above: 5`; the seventh and eighth continue the same deviation
    expect(recorded.map((intent) => intent.monitor?.map((finding) => finding.rule) ?? [])).toEqual([
      [],
      [],
      [],
      [],
      [],
      ['bulk-read'],
      [],
      [],
    ]);
    const bulk = recorded[5]?.monitor?.[0];
    expect(bulk).toMatchObject({
      signal: 'rate',
      action: 'alert',
      observed: 6,
      threshold: 5,
      windowMs: 60_000,
    });
    // the calls counted, the one that crossed last
    expect(bulk?.records).toEqual(reads.slice(0, 6));
    expect(bulk?.baseline).toBeUndefined();

    const sends: string[] = [];
    for (let n = 0; n < 2; n++) {
      now += 1_000;
      const result = await a.harness.call(send('s1', n), ok);
      expect(result.status).toBe('ok');
      sends.push(result.decisionId);
    }
    now += 1_000;
    const third = await a.harness.call(send('s1', 2), ok);
    expect(third.status).toBe('denied');
    expect(third.decision.decidedBy).toEqual(['mass-mailing']);
    expect(third.decision.reasons[0]).toContain('3 calls in 5m, above 2');
    recorded = await intents(a.audit, 's1');
    const pause = recorded.at(-1)?.monitor?.[0];
    expect(pause).toMatchObject({ rule: 'mass-mailing', action: 'pause', observed: 3, threshold: 2 });
    expect(pause?.records).toEqual([...sends, third.decisionId]);

    // the pause goes through oversight as `reins:monitor`, on record with the rule and the call
    await eventually(async () => (await oversight.getSession('s1'))?.status === 'paused');
    const actions = (await a.audit.query({ sessionId: 's1', kind: 'operator-action' })).map(
      (record) => record.event as OperatorActionEvent,
    );
    expect(actions).toMatchObject([{ action: 'session.pause', actor: { id: MONITOR_ACTOR.id } }]);
    expect(actions[0]?.reason).toContain(`mass-mailing at call ${third.decisionId}`);
    expect(told.map((event) => event.findings.map((finding) => finding.rule))).toEqual([
      ['bulk-read'],
      ['mass-mailing'],
    ]);

    // another process on the same store stops the session's next call, whatever it is
    const b = await startProcess();
    now += 1_000;
    const elsewhere = await b.harness.call(read('s1', 99), ok);
    expect(elsewhere.status).toBe('denied');
  });

  it('keeps the session stopped across a restart, until an operator resumes it', async () => {
    let a = await startProcess();
    for (let n = 0; n < 3; n++) {
      now += 1_000;
      await a.harness.call(send('s2', n), ok);
    }
    await eventually(async () => (await oversight.getSession('s2'))?.status === 'paused');
    await stopProcess(a);
    a = await startProcess();
    now += 1_000;
    expect((await a.harness.call(read('s2', 1), ok)).status).toBe('denied');
    await oversight.setSessionStatus(
      's2',
      'active',
      { id: 'ops@example.com', roles: ['admin'] },
      'looked at it: fine',
    );
    await eventually(async () => {
      now += 1;
      return (await a.harness.call(read('s2', 2), ok)).status === 'ok';
    });
  });

  it('refuses a stopped session in a restarted process when only the log knows (no status change)', async () => {
    let a = await startProcess();
    // a process whose listener is gone: the finding is recorded, the session's status never changes
    await stopProcess(a);
    const quiet = new SqliteAuditLog({ path });
    const quietStore = new SqliteOversightStore({ path, pollIntervalMs: 5 });
    const quietSessions = await SharedSessionRegistry.start(quietStore.sessions);
    const silent = new Harness({
      policy: { current: policy },
      audit: quiet,
      sessions: quietSessions,
      clock: () => now,
    });
    for (let n = 0; n < 3; n++) {
      now += 1_000;
      await silent.call(send('s3', n), ok);
    }
    await silent.settled();
    quietSessions.stop();
    await quietStore.close();
    await quiet.close();
    expect((await oversight.getSession('s3'))?.status).toBe('active');

    a = await startProcess();
    now += 1_000;
    const next = await a.harness.call(read('s3', 1), ok);
    expect(next.status).toBe('denied');
    expect(next.decision.decidedBy).toEqual(['mass-mailing']);
    expect(next.decision.reasons[0]).toContain('an operator must resume it');

    await oversight.setSessionStatus('s3', 'paused', { id: 'ops@example.com', roles: ['admin'] }, 'seen');
    await oversight.setSessionStatus(
      's3',
      'active',
      { id: 'ops@example.com', roles: ['admin'] },
      'looked at it: fine',
    );
    await eventually(async () => {
      now += 1;
      const resumed = await a.harness.call(read('s3', 2), ok);
      return resumed.status === 'ok';
    });
  });
});

describe('baselines learned from the log', () => {
  /** Ordinary days of `trained`: a few calls of contacts.read and mail.send per session, spread out. */
  async function ordinaryWeek(process: Process): Promise<void> {
    const start = Date.parse('2026-12-01T09:00:00Z');
    for (let day = 0; day < 5; day++) {
      for (let n = 0; n < 6; n++) {
        now = start + day * 86_400_000 + n * 120_000;
        const tool =
          n % 3 === 2 ? { server: 'mail', name: 'send' } : { server: 'crm', name: 'contacts.read' };
        await process.harness.call(
          { principal: { agentId: 'trained' }, sessionId: `day-${day}`, tool, args: { n } },
          ok,
        );
      }
    }
  }

  it('learns peaks, tools, transitions and hours from records alone, the same in every process', async () => {
    const a = await startProcess();
    await ordinaryWeek(a);
    now = Date.parse('2026-12-07T10:30:00Z');
    const period = { from: Date.parse('2026-11-30T10:00:00Z'), to: Date.parse('2026-12-07T10:00:00Z') };
    const learned = (await readBaselines(a.audit, policy, period)).get('trained');
    expect(learned).toMatchObject({
      calls: 30,
      sessions: 5,
      tools: { 'crm/contacts.read': 20, 'mail/send': 10 },
      // five sessions of six calls 2 minutes apart: at most five calls in any 10 minutes
      peaks: { 'busier-than-usual': 5 },
    });
    expect(learned?.transitions['crm/contacts.read -> mail/send']).toBe(10);
    expect(learned?.hours[9]).toBe(30);
    const elsewhere = await startProcess();
    expect(await readBaselines(elsewhere.audit, policy, period)).toEqual(
      await readBaselines(a.audit, policy, period),
    );
  });

  it('judges an agent against its baseline: more than twice its peak, and a tool it never used is held', async () => {
    const a = await startProcess();
    await ordinaryWeek(a);
    now = Date.parse('2026-12-07T10:30:00Z');
    const baselines = new LoggedBaselines({ audit: a.audit, policy: () => policy, clock: () => now });
    await baselines.refresh();
    const b = await startProcess(baselines);
    const calls: string[] = [];
    for (let n = 0; n < 11; n++) {
      now += 10_000;
      const result = await b.harness.call(
        {
          principal: { agentId: 'trained' },
          sessionId: 'today',
          tool: { server: 'crm', name: 'contacts.read' },
          args: { n },
        },
        ok,
      );
      calls.push(result.decisionId);
    }
    const recorded = await intents(b.audit, 'today');
    // twice the peak of 5 is 10: the eleventh call in ten minutes deviates
    expect(recorded.findIndex((intent) => intent.monitor !== undefined)).toBe(10);
    expect(recorded[10]?.monitor?.[0]).toMatchObject({
      rule: 'busier-than-usual',
      observed: 11,
      threshold: 10,
      baseline: { calls: 30, value: 5, from: '2026-11-30T10:00:00.000Z', to: '2026-12-07T10:00:00.000Z' },
    });
    now += 10_000;
    const novel = await b.harness.call(
      {
        principal: { agentId: 'trained' },
        sessionId: 'today',
        tool: { server: 'crm', name: 'notes.read' },
        args: {},
      },
      ok,
    );
    // held for humans (no approver here: refused), and every later call of the session is held too
    expect(novel.decision.effect).toBe('approve');
    expect(novel.decision.decidedBy).toEqual(['never-before']);
    now += 10_000;
    const after = await b.harness.call(
      {
        principal: { agentId: 'trained' },
        sessionId: 'today',
        tool: { server: 'crm', name: 'contacts.read' },
        args: {},
      },
      ok,
    );
    expect(after.decision.effect).toBe('approve');
    expect(after.decision.reasons[0]).toContain('an operator must resume it');
  });
});

describe('suspend and hold, carried out', () => {
  const SUSPEND = policyFrom(
    `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: mass-export, signal: rate, tool: { effects: [external] }, window: 5m, above: 2, action: suspend, reason: a mass export }
`,
    { catalogue: CATALOGUE },
  );

  it('suspends the agent: its other sessions, in another process, are refused too', async () => {
    await new AgentRegistry(identities).create({ id: 'exporter', owner: 'olivia@example.com' });
    const standings: AgentStanding[] = [];
    const harnessOn = async () => {
      const audit = new SqliteAuditLog({ path });
      const store = new SqliteIdentityStore({ path });
      const standing = await AgentStanding.open(store);
      standings.push(standing);
      const respond = monitorResponder({
        oversight: async () => oversight,
        log: (line) => logged.push(line),
      });
      const harness = new Harness({
        policy: { current: SUSPEND },
        audit,
        standing,
        clock: () => now,
        onMonitorFindings: respond,
      });
      return {
        harness,
        close: async () => {
          standing.close();
          await store.close();
          await audit.close();
        },
      };
    };
    const a = await harnessOn();
    const b = await harnessOn();
    try {
      for (let n = 0; n < 2; n++) {
        now += 1_000;
        expect((await a.harness.call(send('x1', n), ok)).status).toBe('ok');
      }
      now += 1_000;
      const crossing = await a.harness.call(send('x1', 2), ok);
      expect([crossing.status, crossing.decision.decidedBy]).toEqual(['denied', ['mass-export']]);
      // the kill switch, as `reins:monitor`: every session of the agent, in every process
      await eventually(async () => (await identities.getAgent('exporter'))?.state === 'suspended');
      await eventually(async () => {
        now += 1;
        const other = await b.harness.call(read('x2', 1), ok);
        return other.status === 'denied' && /suspended/.test(other.reason ?? '');
      });
      const actions = (await operatorAudit.query({ kind: 'operator-action' })).map(
        (record) => record.event as OperatorActionEvent,
      );
      expect(actions.map((action) => [action.action, action.actor.id])).toEqual([
        ['agent.suspend', MONITOR_ACTOR.id],
        ['session.pause', MONITOR_ACTOR.id],
      ]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('holds the session for humans: an approver releases each call, and every later call is held too', async () => {
    const HOLD = policyFrom(
      `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - { id: mailing, signal: rate, tool: { effects: [external] }, window: 5m, above: 2, action: hold, reason: mail in a burst }
`,
      { catalogue: CATALOGUE },
    );
    const audit = new SqliteAuditLog({ path });
    const store = new SqliteOversightStore({ path, pollIntervalMs: 5 });
    const sessions = await SharedSessionRegistry.start(store.sessions);
    const harness = new Harness({
      policy: { current: HOLD },
      audit,
      sessions,
      clock: () => now,
      approvals: durableApprovals(store.approvals, { defaultExpiryMs: 60_000, recheckMs: 20 }),
      approvalTimeoutMs: 60_000,
    });
    // approval requests expire on the wall clock: the simulated one starts there
    now = Date.now();
    const approver = { id: 'ann@example.com', roles: ['approver'] };
    const releaseEach = async (call: Promise<{ status: string }>) => {
      const pending = await eventually(async () => {
        const [request] = await oversight.listApprovals({ status: 'pending', sessionId: 'held' });
        return request ?? false;
      });
      expect(pending.requirements).toEqual([
        { ruleId: 'mailing', approvers: ['approver', 'admin'], quorum: 1, ownerMayApprove: false },
      ]);
      await oversight.voteApproval(pending.id, approver, { approved: true, reason: 'expected mailing' });
      return call;
    };
    try {
      for (let n = 0; n < 2; n++) {
        now += 1_000;
        expect((await harness.call(send('held', n), ok)).status).toBe('ok');
      }
      now += 1_000;
      expect((await releaseEach(harness.call(send('held', 2), ok))).status).toBe('ok');
      // a read now: the session stays held until an operator resumes it
      now += 1_000;
      const later = await releaseEach(harness.call(read('held', 1), ok));
      expect(later.status).toBe('ok');
      const held = (await intents(audit, 'held')).map((intent) => intent.decision.effect);
      expect(held).toEqual(['allow', 'allow', 'approve', 'approve']);
    } finally {
      await harness.settled();
      sessions.stop();
      await store.close();
      await audit.close();
    }
  });
});
