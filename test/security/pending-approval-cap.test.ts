/**
 * @module test/security/pending-approval-cap.test
 * Attack: an agent floods the humans with held calls. Every call its policy holds becomes a pending
 * approval request in the store (and in the approvers' queue, the console and the webhook), with no
 * limit. Held calls of one agent are now capped per gateway process: the call over the cap is refused
 * at once, with a clear reason, and recorded like any refused call; a slot frees when a held call
 * ends. Real parts: the harness, durable approvals and the audit log on one SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { durableApprovals } from '../../src/harness/durable-approvals.js';
import { Harness } from '../../src/harness/harness.js';
import { SharedSessionRegistry } from '../../src/harness/shared-session-registry.js';
import type { ToolCallInput } from '../../src/spec/tool-call.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';
import { eventually } from '../support/eventually.js';
import { policyFrom } from '../support/policy-fixtures.js';

const CAP = 3;
let directory: string;
let audit: SqliteAuditLog;
let store: SqliteOversightStore;
let sessions: SharedSessionRegistry;
let harness: Harness;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-approval-cap-'));
  const path = join(directory, 'audit.db');
  audit = new SqliteAuditLog({ path });
  store = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  sessions = await SharedSessionRegistry.start(store.sessions);
  harness = new Harness({
    policy: {
      current: policyFrom(`rules:\n  - { id: review, effect: approve, reason: every payment is reviewed }`, {
        catalogue: `tools:\n  - { server: payments, name: send, risk: high, effects: [external] }`,
      }),
    },
    audit,
    sessions,
    approvals: durableApprovals(store.approvals, { defaultExpiryMs: 60_000, maxPendingPerAgent: CAP }),
    approvalTimeoutMs: 60_000,
  });
});

afterEach(async () => {
  sessions.stop();
  await store.close();
  await audit.close();
  rmSync(directory, { recursive: true, force: true });
});

const pending = async () => store.approvals.list({ status: 'pending' });

const payment = (agentId: string, amount: number): ToolCallInput => ({
  principal: { agentId, roles: [], delegatedBy: [] },
  sessionId: `${agentId}-session`,
  tool: { server: 'payments', name: 'send' },
  args: { amount },
});

describe('pending approvals per agent', () => {
  it('refuses and records a held call over the cap, and frees the slot when a held call ends', async () => {
    const stop = new AbortController();
    const ran: unknown[] = [];
    const execute = async (args: unknown) => void ran.push(args);
    const held = Array.from({ length: CAP }, (_, index) =>
      harness.call(payment('flooder', index), execute, { signal: stop.signal }),
    );
    // held calls appear in the store asynchronously
    await eventually(async () => expect(await pending()).toHaveLength(CAP));

    // the call over the cap must not be held: it is refused at once (or, unfixed, would wait)
    const overStop = new AbortController();
    let settled = false;
    const overCall = harness
      .call(payment('flooder', 99), execute, { signal: overStop.signal })
      .finally(() => {
        settled = true;
      });
    await eventually(async () => settled || (await pending()).length > CAP);
    overStop.abort();
    const over = await overCall;
    expect(over).toMatchObject({ status: 'denied' });
    if (over.status === 'denied') expect(over.reason).toMatch(/flooder.*already has 3 calls waiting/);
    expect(await pending()).toHaveLength(CAP);
    const outcomes = (await audit.query({ kind: 'call-outcome' })).map((record) => record.event);
    expect(outcomes).toEqual([
      expect.objectContaining({
        kind: 'call-outcome',
        outcome: 'denied',
        principal: expect.objectContaining({ agentId: 'flooder' }),
      }),
    ]);

    // another agent is not affected by the flooder's cap
    const other = new AbortController();
    const otherCall = harness.call(payment('bystander', 1), execute, { signal: other.signal });
    await eventually(async () => expect(await pending()).toHaveLength(CAP + 1));
    other.abort();
    await otherCall;

    // the flooder's held calls end (cancelled): its slots are free again
    stop.abort();
    for (const result of await Promise.all(held)) expect(result.status).not.toBe('ok');
    const again = new AbortController();
    const next = harness.call(payment('flooder', 100), execute, { signal: again.signal });
    await eventually(async () =>
      expect((await pending()).map((record) => record.args.amount)).toContain(100),
    );
    again.abort();
    await next;
    expect(ran).toEqual([]);
  });
});
