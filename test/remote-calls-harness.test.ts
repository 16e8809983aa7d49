/**
 * @module test/remote-calls-harness.test
 * Calls whose tool the agent runs (decision 0021), at the harness with real SQLite stores and two
 * harnesses on one store standing in for two processes: a held call whose process is gone is ended
 * by the other's sweep once its request expired; an operator's override is honoured by the other
 * process; a human's refusal is recorded by the holding process without the agent asking; the agent
 * can withdraw a held or a ready call, and each ends with an outcome.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import type { CallerRef } from '../src/harness/types.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { callHash } from '../src/spec/call-hash.js';
import { ToolCallSchema } from '../src/spec/tool-call.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import { eventually } from './support/eventually.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-harness }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: pay, risk: high, effects: [external] }
  - { server: app, name: wipe, risk: high, effects: [write] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
  - { id: pay-held, effect: approve, tool: { server: app, name: pay }, approval: { expires: 1s }, reason: payments need a human }
  - { id: no-wipe, effect: deny, tool: { server: app, name: wipe }, reason: never wipe }
`;

const caller: CallerRef = {
  principal: { agentId: 'agent-1', delegatedBy: [], parentSessions: [] } as unknown as CallerRef['principal'],
  sessionId: 'session-1',
};

function compiled() {
  const result = compilePolicy([{ file: 'policy.yaml', text: POLICY }]);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

interface Process {
  readonly harness: Harness;
  readonly oversight: SqliteOversightStore;
  close(): Promise<void>;
}

let directory: string;
let processes: Process[] = [];

function start(): Process {
  const path = join(directory, 'reins.db');
  const audit = new SqliteAuditLog({ path });
  const oversight = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  const harness = new Harness({
    policy: { current: compiled() },
    audit,
    counters: oversight.counters,
    heldCalls: { store: oversight.approvals },
    overrides: (hash, now) => oversight.approvals.consumeOverride(hash, now),
  });
  const started: Process = {
    harness,
    oversight,
    close: async () => {
      await harness.settled();
      await audit.close();
      await oversight.close();
    },
  };
  processes.push(started);
  return started;
}

const open = (process: Process, tool: string, args: Record<string, unknown> = {}) =>
  process.harness.open({ ...caller, tool: { server: 'app', name: tool }, args });

async function outcomes(_process: Process, id: string): Promise<string[]> {
  const log = new SqliteAuditLog({ path: join(directory, 'reins.db'), readOnly: true });
  try {
    return (await log.query({ decisionId: id, sessionId: caller.sessionId, kind: 'call-outcome' })).map(
      (record) => (record.event as { outcome: string }).outcome,
    );
  } finally {
    await log.close();
  }
}

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'reins-remote-harness-'));
  processes = [];
});

afterEach(async () => {
  for (const each of processes) await each.close();
});

describe('calls the agent runs, across two processes on one store', () => {
  it('a held call whose process is gone is ended by the other once its request expired', async () => {
    const first = start();
    const held = await open(first, 'pay', { amount: 5 });
    expect(held).toMatchObject({ ok: true, state: { status: 'held' } });
    const id = held.ok ? held.state.id : '';
    await first.close(); // gone, nobody ever asks about the call again
    processes = processes.filter((each) => each !== first);
    const second = start();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await second.harness.endExpiredHeldCalls(0)).toBe(1);
    expect(await outcomes(second, id)).toEqual(['expired']);
    expect(await second.harness.endExpiredHeldCalls(0)).toBe(0);
  });

  it("an operator's override lets the denied call run from the other process too, once", async () => {
    const first = start();
    const second = start();
    const denied = await open(first, 'wipe', { all: true });
    expect(denied.ok && denied.state.status).toBe('denied');
    // the same call again after an operator overrode it (bound to its hash)
    const hash = callHash(
      ToolCallSchema.parse({ ...caller, tool: { server: 'app', name: 'wipe' }, args: { all: true } }),
    );
    await first.oversight.approvals.grantOverride({
      decisionId: denied.ok ? denied.state.id : '',
      callHash: hash,
      by: 'ann',
      reason: 'cleanup approved',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    const overridden = await open(first, 'wipe', { all: true });
    expect(overridden).toMatchObject({ ok: true, state: { status: 'ready' } });
    const id = overridden.ok ? overridden.state.id : '';
    expect(await second.harness.get(caller, id)).toMatchObject({ ok: true, state: { status: 'ready' } });
    expect(await second.harness.complete(caller, id, { ok: true, result: 'wiped' })).toMatchObject({
      ok: true,
      state: { status: 'completed' },
    });
    expect(await first.harness.complete(caller, id, { ok: true, result: 'again' })).toMatchObject({
      ok: false,
    });
    expect(await outcomes(second, id)).toEqual(['ok']);
  });

  it('a human refusal is recorded by the holding process without the agent asking', async () => {
    const first = start();
    const held = await open(first, 'pay', { amount: 7 });
    const id = held.ok ? held.state.id : '';
    await first.oversight.approvals.vote(
      id,
      {
        actor: { id: 'ann', roles: ['approver'] },
        approved: false,
        reason: 'no',
        at: new Date().toISOString(),
      },
      new Date(),
    );
    await eventually(async () => expect(await outcomes(first, id)).toEqual(['denied']), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'the refusal on record',
    });
  });

  it('the agent withdraws a held and a ready call; each ends cancelled, and a second withdrawal is refused', async () => {
    const first = start();
    const held = await open(first, 'pay', { amount: 9 });
    const ready = await open(first, 'lookup', { customer: 'x' });
    const heldId = held.ok ? held.state.id : '';
    const readyId = ready.ok ? ready.state.id : '';
    expect(await first.harness.cancel(caller, heldId, 'the user said no')).toMatchObject({
      ok: true,
      state: { status: 'denied', outcome: 'cancelled' },
    });
    expect((await first.oversight.approvals.get(heldId))?.status).toBe('cancelled');
    expect(await first.harness.cancel(caller, readyId, '')).toMatchObject({
      ok: true,
      state: { outcome: 'cancelled' },
    });
    expect(await first.harness.cancel(caller, readyId, '')).toMatchObject({ ok: false, code: 'not_ready' });
    expect(await first.harness.complete(caller, readyId, { ok: true, result: 'late' })).toMatchObject({
      ok: false,
    });
    expect(await outcomes(first, heldId)).toEqual(['cancelled']);
    expect(await outcomes(first, readyId)).toEqual(['cancelled']);
  });
});
