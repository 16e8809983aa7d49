/**
 * @module test/oversight.test
 * Human oversight end to end on the embedded store, with two store connections standing for two
 * processes (the one holding calls, the one operators act through): durable approval requests,
 * roles, quorum and separation of duties, refusal, expiry, single use, killing a session while a call
 * waits, and overriding a denial once. Every operator action must be in the audit log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { durableApprovals } from '../src/harness/durable-approvals.js';
import { Harness } from '../src/harness/harness.js';
import { SharedSessionRegistry } from '../src/harness/shared-session-registry.js';
import { StoreOversight } from '../src/oversight/store-oversight.js';
import type { Actor, ApprovalRecord } from '../src/spec/oversight.js';
import type { ToolCallInput } from '../src/spec/tool-call.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import { waitFor } from './conformance/oversight-store.conformance.js';
import { policyFrom } from './support/policy-fixtures.js';

const POLICY = `
rules:
  - id: lookups
    effect: allow
    tool: { name: payments.lookup }
    reason: lookups are harmless
  - id: small-payments
    effect: approve
    tool: { name: payments.send }
    when: args.amount <= 1000
    reason: every payment is reviewed
  - id: big-payments
    effect: approve
    tool: { name: payments.send }
    when: args.amount > 1000
    reason: payments over 1000 need two finance approvers
    approval: { approvers: finance-approvers, quorum: 2, expires: 10m }
  - id: quick-expiry
    effect: approve
    tool: { name: db.execute }
    reason: writes are reviewed within the minute
    approval: { expires: 300ms }
`;

const ann: Actor = { id: 'ann', roles: ['approver', 'finance-approvers'] };
const bob: Actor = { id: 'bob', roles: ['finance-approvers'] };
const olivia: Actor = { id: 'olivia', roles: ['approver', 'finance-approvers'] };
const victor: Actor = { id: 'victor', roles: ['viewer'] };
const admin: Actor = { id: 'root', roles: ['admin'] };

let directory: string;
let holderStore: SqliteOversightStore;
let operatorStore: SqliteOversightStore;
let audit: SqliteAuditLog;
let identities: SqliteIdentityStore;
let sessions: SharedSessionRegistry;
let harness: Harness;
let oversight: StoreOversight;
let ran: Record<string, unknown>[];

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-oversight-'));
  const path = join(directory, 'audit.db');
  audit = new SqliteAuditLog({ path });
  identities = new SqliteIdentityStore({ path });
  holderStore = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  operatorStore = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  sessions = await SharedSessionRegistry.start(holderStore.sessions);
  harness = new Harness({
    policy: { current: policyFrom(POLICY) },
    audit,
    sessions,
    approvals: durableApprovals(holderStore.approvals, { defaultExpiryMs: 60_000, recheckMs: 50 }),
    overrides: (hash, now) => holderStore.approvals.consumeOverride(hash, now),
    approvalTimeoutMs: 60_000,
  });
  oversight = new StoreOversight({
    approvals: operatorStore.approvals,
    sessions: operatorStore.sessions,
    identities,
    audit,
  });
  ran = [];
});

afterEach(async () => {
  sessions.stop();
  await holderStore.close();
  await operatorStore.close();
  await identities.close();
  await audit.close();
  rmSync(directory, { recursive: true, force: true });
});

function call(tool: string, args: Record<string, unknown>, sessionId = 'session-1'): ToolCallInput {
  const [server, name] = tool.split('/') as [string, string];
  return {
    principal: { agentId: 'payments-bot', roles: [], owner: 'olivia', delegatedBy: [] },
    sessionId,
    tool: { server, name },
    args,
  };
}

const execute = async (args: Record<string, unknown>) => {
  ran.push(args);
  return { done: true };
};

async function pendingRequest(): Promise<ApprovalRecord> {
  let found: ApprovalRecord | undefined;
  await waitFor(() => {
    void oversight.listApprovals({ status: 'pending' }).then((records) => {
      found = records[0];
    });
    return found !== undefined;
  });
  return found as ApprovalRecord;
}

async function operatorActions(): Promise<string[]> {
  const records = await audit.query({ kind: 'operator-action' });
  return records.map((record) =>
    record.event.kind === 'operator-action' ? `${record.event.actor.id} ${record.event.action}` : '',
  );
}

describe('approvals', () => {
  it('holds the call as a durable request that an approver releases from another connection', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 100, to: 'DE89' }), execute);
    const request = await pendingRequest();
    expect(request).toMatchObject({
      agentId: 'payments-bot',
      owner: 'olivia',
      sessionId: 'session-1',
      tool: { server: 'pay', name: 'payments.send' },
      args: { amount: 100, to: 'DE89' },
      reasons: ['every payment is reviewed'],
      status: 'pending',
    });
    expect(request.callHash).toMatch(/^sha256:/);
    await oversight.voteApproval(request.id, ann, { approved: true, reason: 'expected invoice' });
    const result = await pending;
    expect(result).toMatchObject({ status: 'ok', decisionId: request.id });
    expect(ran).toEqual([{ amount: 100, to: 'DE89' }]);
    // spent on this call: nothing can release it again
    expect((await oversight.getApproval(request.id))?.status).toBe('used');
    const outcome = await audit.query({ kind: 'call-outcome' });
    expect(outcome[0]?.event).toMatchObject({
      approval: { approved: true, by: 'ann', reason: 'expected invoice' },
    });
    expect(await operatorActions()).toEqual(['ann approval.approve']);
  });

  it('needs the quorum, never the owner alone, and only holders of an approver role', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 5000, to: 'DE89' }), execute);
    const request = await pendingRequest();
    expect(request.requirements).toEqual([
      { ruleId: 'big-payments', approvers: ['finance-approvers'], quorum: 2, ownerMayApprove: false },
    ]);
    await expect(
      oversight.voteApproval(request.id, victor, { approved: true, reason: 'x' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(
      oversight.voteApproval(request.id, admin, { approved: true, reason: 'x' }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect(
      (await oversight.voteApproval(request.id, olivia, { approved: true, reason: 'mine' })).status,
    ).toBe('pending');
    await expect(
      oversight.voteApproval(request.id, olivia, { approved: true, reason: 'again' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(ran).toEqual([]);
    expect(
      (await oversight.voteApproval(request.id, bob, { approved: true, reason: 'checked' })).status,
    ).toBe('approved');
    expect(await pending).toMatchObject({ status: 'ok' });
    expect(ran).toHaveLength(1);
  });

  it('refuses separation-of-duties violations up front when the owner could only approve alone', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 10 }), execute);
    const request = await pendingRequest();
    await expect(
      oversight.voteApproval(request.id, olivia, { approved: true, reason: 'mine' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('separation of duties'),
    });
    await oversight.voteApproval(request.id, ann, { approved: false, reason: 'not on the invoice list' });
    const result = await pending;
    expect(result).toMatchObject({ status: 'denied', outcome: 'denied' });
    expect(result.status === 'denied' && result.reason).toContain('not on the invoice list');
    expect(ran).toEqual([]);
    expect(await operatorActions()).toEqual(['ann approval.deny']);
  });

  it("expires at the rule's expiry; a late vote cannot release anything", async () => {
    const result = await harness.call(call('crm/db.execute', { sql: 'UPDATE x' }), execute);
    expect(result).toMatchObject({ status: 'denied', outcome: 'expired' });
    const [request] = await oversight.listApprovals({});
    await waitFor(() => request !== undefined);
    let status: string | undefined;
    await waitFor(() => {
      void oversight.getApproval(request?.id ?? '').then((record) => {
        status = record?.status;
      });
      return status === 'expired';
    });
    await expect(
      oversight.voteApproval(request?.id ?? '', ann, { approved: true, reason: 'late' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(ran).toEqual([]);
  });
});

describe('the order of the log', () => {
  /** The same audit log, but an operator's records take a while to commit (a slow disk, a busy pool). */
  function slowOperatorRecords(): StoreOversight {
    const slow = Object.create(audit) as SqliteAuditLog;
    slow.append = async (event) => {
      if (event.kind === 'operator-action') await new Promise((done) => setTimeout(done, 200));
      return audit.append(event);
    };
    // the holder's own connection: its change feed wakes the held call at once, in this process
    return new StoreOversight({
      approvals: holderStore.approvals,
      sessions: holderStore.sessions,
      identities,
      audit: slow,
    });
  }

  async function seqOf(decisionId: string, kind: string): Promise<number> {
    const records = await audit.query({});
    const found = records.find(
      (record) => record.event.decisionId === decisionId && record.event.kind === kind,
    );
    if (found === undefined) throw new Error(`no ${kind} for ${decisionId}`);
    return found.seq;
  }

  it('chains the vote that released a call before the outcome of that call', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 100, to: 'DE89' }), execute);
    const request = await pendingRequest();
    await slowOperatorRecords().voteApproval(request.id, ann, { approved: true, reason: 'expected' });
    expect(await pending).toMatchObject({ status: 'ok' });
    expect(await seqOf(request.id, 'operator-action')).toBeLessThan(await seqOf(request.id, 'call-outcome'));
  });

  it('chains the kill that refused a held call before the outcome of that call', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 100, to: 'DE89' }), execute);
    const request = await pendingRequest();
    await slowOperatorRecords().setSessionStatus('session-1', 'killed', ann, 'runaway');
    expect(await pending).toMatchObject({ outcome: 'cancelled' });
    const kill = (await audit.query({ kind: 'operator-action' })).find(
      (record) => record.event.kind === 'operator-action' && record.event.action === 'session.kill',
    );
    expect(kill?.seq).toBeLessThan(await seqOf(request.id, 'call-outcome'));
  });
});

describe('sessions', () => {
  it('a kill from another connection refuses the waiting call at once, and every later call', async () => {
    const pending = harness.call(call('pay/payments.send', { amount: 10 }), execute);
    const request = await pendingRequest();
    await expect(oversight.setSessionStatus('session-1', 'killed', victor, 'runaway')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await oversight.setSessionStatus('session-1', 'killed', ann, 'runaway agent');
    const result = await pending;
    expect(result).toMatchObject({ status: 'denied', outcome: 'cancelled' });
    await waitFor(() => sessions.get('session-1')?.status === 'killed');
    const next = await harness.call(call('pay/payments.lookup', { id: 1 }), execute);
    expect(next).toMatchObject({ status: 'denied' });
    expect(next.decision.diagnostics[0]?.code).toBe('session_killed');
    // the held request can no longer be approved
    await expect(
      oversight.voteApproval(request.id, ann, { approved: true, reason: 'x' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(oversight.setSessionStatus('session-1', 'active', ann, 'oops')).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(ran).toEqual([]);
    expect(await operatorActions()).toEqual(['ann session.kill']);
  });

  it('refuses to approve a held call of a suspended agent', async () => {
    await new AgentRegistry(identities).create({ id: 'payments-bot', owner: 'olivia', scopes: ['*'] });
    const controller = new AbortController();
    const pending = harness.call(call('pay/payments.send', { amount: 10 }), execute, {
      signal: controller.signal,
    });
    const request = await pendingRequest();
    await oversight.suspendAgent('payments-bot', admin, 'compromised');
    await expect(
      oversight.voteApproval(request.id, ann, { approved: true, reason: 'looks fine' }),
    ).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/suspended/) });
    // refusing it still works
    await oversight.voteApproval(request.id, ann, { approved: false, reason: 'suspended agent' });
    expect(await pending).toMatchObject({ status: 'denied' });
    expect(ran).toEqual([]);
  });

  it('pause and resume apply across connections', async () => {
    expect(await harness.call(call('pay/payments.lookup', { id: 1 }), execute)).toMatchObject({
      status: 'ok',
    });
    let listed = false;
    await waitFor(() => {
      void oversight.getSession('session-1').then((session) => {
        listed = session !== undefined;
      });
      return listed;
    });
    await oversight.setSessionStatus('session-1', 'paused', ann, 'checking');
    await waitFor(() => sessions.get('session-1')?.status === 'paused');
    expect(await harness.call(call('pay/payments.lookup', { id: 2 }), execute)).toMatchObject({
      status: 'denied',
    });
    await oversight.setSessionStatus('session-1', 'active', ann, 'fine');
    await waitFor(() => sessions.get('session-1')?.status === 'active');
    expect(await harness.call(call('pay/payments.lookup', { id: 3 }), execute)).toMatchObject({
      status: 'ok',
    });
  });
});

describe('overrides', () => {
  it('lets exactly the denied call run once; other arguments stay denied', async () => {
    const denied = await harness.call(call('crm/db.select', { table: 'payroll' }), execute);
    expect(denied).toMatchObject({ status: 'denied' });
    await expect(
      oversight.overrideDenial(denied.decisionId, ann, 'customer escalation'),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    await oversight.overrideDenial(denied.decisionId, admin, 'customer escalation');
    const changed = await harness.call(call('crm/db.select', { table: 'salaries' }), execute);
    expect(changed).toMatchObject({ status: 'denied' });
    const retried = await harness.call(call('crm/db.select', { table: 'payroll' }), execute);
    expect(retried).toMatchObject({ status: 'ok' });
    const again = await harness.call(call('crm/db.select', { table: 'payroll' }), execute);
    expect(again).toMatchObject({ status: 'denied' });
    expect(ran).toEqual([{ table: 'payroll' }]);
    const outcomes = await audit.query({ kind: 'call-outcome', effect: 'ok' });
    expect(outcomes[0]?.event).toMatchObject({
      approval: { approved: true, by: 'root', reason: 'override: customer escalation' },
    });
    expect(await operatorActions()).toEqual(['root override.grant']);
  });

  it('never overrides a refusal that came from a safety check rather than a rule', async () => {
    await oversight.setSessionStatus(
      (await holderStore.sessions.open('session-2', 'payments-bot', new Date())).id,
      'killed',
      ann,
      'stop',
    );
    await waitFor(() => {
      sessions.open('session-2', 'payments-bot', Date.now());
      return sessions.get('session-2')?.status === 'killed';
    });
    const denied = await harness.call(call('pay/payments.lookup', { id: 1 }, 'session-2'), execute);
    expect(denied.decision.diagnostics[0]?.code).toBe('session_killed');
    await expect(oversight.overrideDenial(denied.decisionId, admin, 'please')).rejects.toMatchObject({
      code: 'conflict',
    });
  });
});

describe('agents', () => {
  it('suspend, resume and retire are for admins, and each is on record', async () => {
    await new AgentRegistry(identities).create({ id: 'payments-bot', owner: 'olivia', scopes: ['pay/*'] });
    await expect(oversight.suspendAgent('payments-bot', ann, 'incident')).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await oversight.suspendAgent('payments-bot', admin, 'incident')).state).toBe('suspended');
    expect((await oversight.resumeAgent('payments-bot', admin, 'resolved')).state).toBe('active');
    await expect(oversight.retireAgent('payments-bot', admin, '')).rejects.toMatchObject({
      code: 'invalid_input',
    });
    expect((await oversight.retireAgent('payments-bot', admin, 'replaced')).state).toBe('retired');
    expect(await operatorActions()).toEqual(['root agent.suspend', 'root agent.resume', 'root agent.retire']);
  });
});
