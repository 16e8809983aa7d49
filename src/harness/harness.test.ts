/**
 * @module harness/harness.test
 * The enforcement pipeline: what runs, what is refused, what is recorded, and that every failure
 * while deciding or recording refuses the call. Uses the real SQLite audit log (in memory) except
 * where a failing log has to be simulated.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventually } from '../../test/support/eventually.js';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import type { AuditEventV1 } from '../spec/audit-event.js';
import { callHash } from '../spec/call-hash.js';
import type { StandingCheck, StandingRefusal } from '../spec/standing.js';
import { ToolCallSchema } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { Harness, type HarnessOptions } from './harness.js';
import { type CallRequest, type OutputFilterContext, type ToolExecutor, ToolNotStarted } from './types.js';

const POLICY = policyFrom(`
rules:
  - id: reads
    effect: allow
    tool: { effects: read }
    reason: reads are fine
  - id: writes-held
    effect: approve
    tool: { effects: write }
    reason: writes need a human
limits:
  - id: three-lookups
    tool: { name: payments.lookup }
    per: [session]
    window: 1h
    max: 3
    reason: at most three lookups an hour
`);

const logs: SqliteAuditLog[] = [];
function memoryLog(): SqliteAuditLog {
  const log = new SqliteAuditLog({ path: ':memory:' });
  logs.push(log);
  return log;
}
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

function harness(options: Partial<HarnessOptions> = {}): { harness: Harness; audit: AuditLog } {
  const audit = options.audit ?? memoryLog();
  return { harness: new Harness({ policy: { current: POLICY }, audit, ...options }), audit };
}

function request(
  tool: string,
  args: Record<string, unknown> = {},
  extra: Partial<CallRequest> = {},
): CallRequest {
  const server = tool.startsWith('payments') ? 'pay' : 'crm';
  return { principal: { agentId: 'agent-a' }, sessionId: 's1', tool: { server, name: tool }, args, ...extra };
}

/** A real log whose appends go through `append` instead (to simulate write failures). */
function withAppend(real: AuditLog, append: AuditLog['append']): AuditLog {
  return {
    append,
    readCaptured: (hash) => real.readCaptured(hash),
    records: (options) => real.records(options),
    query: (query) => real.query(query),
    queryIndex: (query) => real.queryIndex(query),
    checkpoints: () => real.checkpoints(),
    checkpoint: () => real.checkpoint(),
    prune: (before) => real.prune(before),
    verify: (options) => real.verify(options),
    close: () => real.close(),
  };
}

async function events(audit: AuditLog): Promise<AuditEventV1[]> {
  const all: AuditEventV1[] = [];
  for await (const record of audit.records()) all.push(JSON.parse(record.body) as AuditEventV1);
  return all;
}

describe('Harness.call', () => {
  it('runs an allowed call and records intent and outcome, linked, in a verifiable chain', async () => {
    const { harness: subject, audit } = harness();
    const executor = vi.fn(async (args: Record<string, unknown>) => ({ rows: [args.table] }));
    const result = await subject.call(request('db.select', { table: 'customers' }), executor);
    expect(result).toMatchObject({ status: 'ok', outcome: 'ok', output: { rows: ['customers'] } });
    expect(executor).toHaveBeenCalledOnce();
    const [intent, outcome] = await events(audit);
    expect(intent).toMatchObject({
      kind: 'call-intent',
      decision: { effect: 'allow', matchedRules: ['reads'] },
    });
    expect(outcome).toMatchObject({ kind: 'call-outcome', outcome: 'ok', result: { rows: ['customers'] } });
    expect(outcome?.kind === 'call-outcome' && outcome.links).toEqual([{ rel: 'intent', id: intent?.id }]);
    expect(intent?.decisionId).toBe(result.decisionId);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('does not run a denied call, and records the attempt', async () => {
    const { harness: subject, audit } = harness();
    const executor = vi.fn(async () => 'never');
    const result = await subject.call(request('payments.send', { amount: 5 }), executor);
    expect(result).toMatchObject({ status: 'denied', outcome: 'denied' });
    expect(result.status === 'denied' && result.reason).toContain('no rule allows `pay/payments.send`');
    expect(executor).not.toHaveBeenCalled();
    expect((await events(audit)).map((event) => event.kind)).toEqual(['call-intent', 'call-outcome']);
  });

  it('refuses a call whose intent cannot be recorded, without running it', async () => {
    const failing = withAppend(memoryLog(), async () => {
      throw new Error('disk full');
    });
    const { harness: subject } = harness({ audit: failing });
    const executor = vi.fn(async () => 'ran');
    const result = await subject.call(request('db.select'), executor);
    expect(result.status).toBe('denied');
    expect(result.decision.effect).toBe('deny');
    expect(result.decision.diagnostics[0]).toMatchObject({ code: 'audit_unavailable' });
    expect(result.status === 'denied' && result.reason).toContain('disk full');
    expect(executor).not.toHaveBeenCalled();
  });

  it('withholds the result when the outcome cannot be recorded', async () => {
    const real = memoryLog();
    let appends = 0;
    const flaky = withAppend(real, async (event) => {
      if (++appends === 2) throw new Error('connection lost');
      return real.append(event);
    });
    const { harness: subject } = harness({ audit: flaky });
    const result = await subject.call(request('db.select'), async () => 'secret result');
    expect(result).toMatchObject({ status: 'error', outcome: 'error' });
    expect(JSON.stringify(result)).not.toContain('secret result');
  });

  it('refuses calls that need approval when no approver is configured', async () => {
    const { harness: subject } = harness();
    const executor = vi.fn(async () => 'ran');
    const result = await subject.call(request('db.execute'), executor);
    expect(result.status).toBe('denied');
    expect(result.status === 'denied' && result.reason).toContain('no approver is configured');
    expect(executor).not.toHaveBeenCalled();
  });

  it('runs a held call once approved, bound to the exact call, and records who approved', async () => {
    const approvals = vi.fn(async () => ({ approved: true, by: 'dana', reason: 'looks right' }));
    const { harness: subject, audit } = harness({ approvals });
    const result = await subject.call(request('db.execute', { sql: 'UPDATE t' }), async () => 'updated');
    expect(result).toMatchObject({ status: 'ok', output: 'updated' });
    const [approvalRequest] = approvals.mock.calls[0] as unknown as [
      { callHash: string; decision: { effect: string } },
    ];
    expect(approvalRequest.callHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(approvalRequest.decision.effect).toBe('approve');
    const outcome = (await events(audit))[1];
    expect(outcome).toMatchObject({
      outcome: 'ok',
      approval: { approved: true, by: 'dana', reason: 'looks right' },
    });
  });

  it('runs nothing for a caller that cancelled before the call started, and never rejects unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { harness: subject, audit } = harness({
        approvals: (_request, signal) =>
          new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      });
      let ran = 0;
      const executor = async () => {
        ran++;
        throw new Error('the upstream saw the cancellation');
      };
      // the MCP cancellation arrived before the call's turn (same batch, or a disconnect at once)
      for (const tool of ['db.select', 'db.execute']) {
        const gone = new AbortController();
        gone.abort(new Error('the client disconnected'));
        const result = await subject.call(request(tool), executor, { signal: gone.signal });
        expect(result.status).toBe('denied');
      }
      await new Promise((done) => setTimeout(done, 20));
      expect(unhandled).toEqual([]);
      expect(ran).toBe(0);
      const outcomes = (await events(audit)).filter((event) => event.kind === 'call-outcome');
      expect(outcomes.map((event) => (event.kind === 'call-outcome' ? event.outcome : ''))).toEqual([
        'cancelled',
        'abandoned',
      ]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('says a call cancelled while the tool ran may have taken effect', async () => {
    const { harness: subject, audit } = harness();
    const caller = new AbortController();
    const result = await subject.call(
      request('db.select'),
      async (_args, { signal }) => {
        caller.abort(new Error('the client went away'));
        await new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      },
      { signal: caller.signal },
    );
    expect(result).toMatchObject({ status: 'error', outcome: 'cancelled' });
    const outcome = (await events(audit)).find((event) => event.kind === 'call-outcome');
    expect(outcome).toMatchObject({
      error: 'cancelled by the caller after the tool was started: it may have taken effect',
      startedAt: expect.any(String),
    });
  });

  it('says a call cancelled while its executor waited, before anything was sent, did not run', async () => {
    const { harness: subject, audit } = harness();
    const caller = new AbortController();
    // as the gateway's queue does: it gives up in the abort's own turn, with nothing sent
    const queued: ToolExecutor = (_args, { signal }) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () => reject(new ToolNotStarted('it waited for its turn'))),
      );
    const pending = subject.call(request('db.select'), queued, { signal: caller.signal });
    await new Promise((done) => setTimeout(done, 20));
    caller.abort(new Error('the client went away'));
    expect(await pending).toMatchObject({ status: 'error', outcome: 'cancelled' });
    const outcome = (await events(audit)).find((event) => event.kind === 'call-outcome');
    expect(outcome).toMatchObject({
      outcome: 'cancelled',
      error: 'cancelled by the caller before the tool was started, so it did not run: it waited for its turn',
    });
    // no start time: the record format's "never started" (rollback, replay and the session's history)
    expect(outcome).not.toHaveProperty('startedAt');
  });

  it('gives back what a call cancelled before it started counted towards limits, and only that', async () => {
    const { harness: subject } = harness();
    const cancelledWhile = async (executor: ToolExecutor) => {
      const caller = new AbortController();
      const pending = subject.call(request('payments.lookup'), executor, { signal: caller.signal });
      await new Promise((done) => setTimeout(done, 20));
      caller.abort(new Error('the client went away'));
      expect(await pending).toMatchObject({ outcome: 'cancelled' });
    };
    const untilAborted = (error: (signal: AbortSignal) => unknown): ToolExecutor => {
      return (_args, { signal }) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(error(signal))));
    };
    // not run: given back, as replay gives back a reservation whose call has no start time
    await cancelledWhile(untilAborted(() => new ToolNotStarted('it waited for its turn')));
    // may have run: it counts
    await cancelledWhile(untilAborted((signal) => signal.reason));
    const statuses = [];
    for (let n = 0; n < 3; n++)
      statuses.push((await subject.call(request('payments.lookup'), async () => 'found')).status);
    expect(statuses).toEqual(['ok', 'ok', 'denied']);
  });

  it('takes a "not started" that comes only after the cancellation was answered as no proof; without a cancellation, as the failure of a call that did not run', async () => {
    const { harness: subject, audit } = harness();
    const caller = new AbortController();
    // says so only after the tool could have been asked: the call may have taken effect
    const late: ToolExecutor = (_args, { signal }) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener('abort', () =>
          setTimeout(() => reject(new ToolNotStarted('too late to tell')), 10),
        ),
      );
    const pending = subject.call(request('db.select'), late, { signal: caller.signal });
    await new Promise((done) => setTimeout(done, 20));
    caller.abort(new Error('the client went away'));
    expect(await pending).toMatchObject({ outcome: 'cancelled' });
    // nobody cancelled: the executor's own answer says it gave up before the tool (the gateway's queue
    // was full, or its wait used up the timeout): a failed call that did not run, no start time
    const failed = await subject.call(request('db.select'), async () => {
      throw new ToolNotStarted('the upstream was busy');
    });
    expect(failed).toMatchObject({ outcome: 'error', error: 'tool failed: the upstream was busy' });
    const outcomes = (await events(audit)).filter((event) => event.kind === 'call-outcome');
    expect(outcomes).toMatchObject([
      { error: expect.stringMatching(/may have taken effect/), startedAt: expect.any(String) },
      { outcome: 'error' },
    ]);
    expect(outcomes[1]).not.toHaveProperty('startedAt');
  });

  it('refuses a held call that is refused, expires or is abandoned by its caller', async () => {
    const refused = harness({
      approvals: async () => ({ approved: false, by: 'dana', reason: 'no' }),
    }).harness;
    expect(await refused.call(request('db.execute'), async () => 'ran')).toMatchObject({
      status: 'denied',
      outcome: 'denied',
      reason: 'approval refused by dana: no',
    });

    const silent = harness({ approvals: () => new Promise(() => {}), approvalTimeoutMs: 20 }).harness;
    expect(await silent.call(request('db.execute'), async () => 'ran')).toMatchObject({
      status: 'denied',
      outcome: 'expired',
    });

    const controller = new AbortController();
    const waiting = harness({ approvals: () => new Promise(() => {}) }).harness;
    const pending = waiting.call(request('db.execute'), async () => 'ran', { signal: controller.signal });
    controller.abort();
    // the caller stopped waiting: nobody would receive the result (decision 0018)
    expect(await pending).toMatchObject({ status: 'denied', outcome: 'abandoned' });
  });

  it('does not run an approved call whose session was killed while it waited', async () => {
    let approve: (value: { approved: boolean }) => void = () => {};
    let held: () => void = () => {};
    const waiting = new Promise<void>((resolve) => (held = resolve));
    const { harness: subject } = harness({
      approvals: () =>
        new Promise((resolve) => {
          approve = resolve;
          held();
        }),
    });
    const executor = vi.fn(async () => 'ran');
    const pending = subject.call(request('db.execute'), executor);
    await waiting; // the call waits for its approval
    subject.sessions.setStatus('s1', 'killed');
    approve({ approved: true });
    expect(await pending).toMatchObject({ status: 'denied', outcome: 'cancelled' });
    expect(executor).not.toHaveBeenCalled();
    expect((await subject.call(request('db.select'), executor)).status).toBe('denied');
  });

  it('denies every call of an agent whose standing is lost (not overridable), and allows it again once restored', async () => {
    const standing = fakeStanding();
    const overrides = vi.fn(async () => ({ by: 'olga', reason: 'let it through' }));
    const { harness: subject, audit } = harness({ standing, overrides });
    standing.refusal = { code: 'agent_not_active', message: 'agent `agent-a` is suspended' };
    const executor = vi.fn(async () => 'ran');
    const refused = await subject.call(request('db.select'), executor);
    expect(refused).toMatchObject({ status: 'denied', reason: 'agent `agent-a` is suspended' });
    expect(refused.decision.diagnostics).toEqual([standing.refusal]);
    expect(executor).not.toHaveBeenCalled();
    expect(overrides).not.toHaveBeenCalled();
    expect((await events(audit))[0]).toMatchObject({ kind: 'call-intent', decision: { effect: 'deny' } });
    standing.refusal = undefined;
    expect((await subject.call(request('db.select'), executor)).status).toBe('ok');
  });

  it('refuses a held call at once when its standing is lost while it waits', async () => {
    const standing = fakeStanding();
    let signalSeen: AbortSignal | undefined;
    const { harness: subject } = harness({
      standing,
      approvals: (_request, signal) => {
        signalSeen = signal;
        return new Promise(() => {});
      },
    });
    const executor = vi.fn(async () => 'ran');
    const pending = subject.call(request('db.execute'), executor);
    await eventually(() => expect(signalSeen).toBeDefined());
    standing.lose({ code: 'agent_not_active', message: 'agent `agent-a` is suspended' });
    expect(await pending).toMatchObject({
      status: 'denied',
      outcome: 'denied',
      reason: 'agent `agent-a` is suspended: the held call is refused',
    });
    expect(signalSeen?.aborted).toBe(true);
    expect(executor).not.toHaveBeenCalled();
  });

  it('re-reads the standing before releasing an approved call, and refuses it if lost', async () => {
    // this process never heard of the suspension: only the fresh read finds it
    const standing = fakeStanding();
    standing.fresh = { code: 'agent_not_active', message: 'agent `agent-a` is suspended' };
    const { harness: subject, audit } = harness({
      standing,
      approvals: async () => ({ approved: true, by: 'dana', reason: 'looks fine' }),
    });
    const executor = vi.fn(async () => 'ran');
    expect(await subject.call(request('db.execute'), executor)).toMatchObject({
      status: 'denied',
      reason: 'agent `agent-a` is suspended: the approved call is refused',
    });
    expect(executor).not.toHaveBeenCalled();
    expect((await events(audit))[1]).toMatchObject({
      outcome: 'denied',
      approval: { approved: true, by: 'dana' },
    });

    const failing = fakeStanding();
    failing.recheck = async () => {
      throw new Error('store unreachable');
    };
    const { harness: blind } = harness({ standing: failing, approvals: async () => ({ approved: true }) });
    expect(await blind.call(request('db.execute'), executor)).toMatchObject({ status: 'denied' });
    expect(executor).not.toHaveBeenCalled();
  });

  it('records a tool failure as an error outcome', async () => {
    const { harness: subject, audit } = harness();
    const result = await subject.call(request('db.select'), async () => {
      throw new Error('connection refused');
    });
    expect(result).toMatchObject({
      status: 'error',
      outcome: 'error',
      error: 'tool failed: connection refused',
    });
    expect((await events(audit))[1]).toMatchObject({
      outcome: 'error',
      error: 'tool failed: connection refused',
    });
  });

  it('passes results through the output filters, and withholds them when a filter fails', async () => {
    const redact = (output: unknown) =>
      String(output).replace(/AKIA[0-9A-Z]{16}/g, '[REDACTED:aws_access_key]');
    const { harness: subject, audit } = harness({ outputFilters: [redact] });
    const result = await subject.call(request('db.select'), async () => 'key AKIAABCDEFGHIJKLMNOP here');
    expect(result).toMatchObject({ status: 'ok', output: 'key [REDACTED:aws_access_key] here' });
    expect(JSON.stringify(await events(audit))).not.toContain('AKIAABCDEFGHIJKLMNOP');

    const broken = harness({
      outputFilters: [
        () => {
          throw new Error('detector crashed');
        },
      ],
    }).harness;
    const withheld = await broken.call(request('db.select'), async () => 'raw');
    expect(withheld).toMatchObject({
      status: 'error',
      error: 'output withheld: filter failed: detector crashed',
    });
  });

  it('passes the message of a failing tool through the output filters, and withholds it when one fails', async () => {
    const seen: unknown[] = [];
    const mask = (output: unknown, context: OutputFilterContext) => {
      seen.push(context.kind);
      return String(output).replace('hunter2', '***');
    };
    const { harness: subject, audit } = harness({ outputFilters: [mask] });
    const failing = async () => {
      throw new Error('login with hunter2 refused');
    };
    const result = await subject.call(request('db.select'), failing);
    expect(result).toMatchObject({ status: 'error', error: 'tool failed: login with *** refused' });
    expect(seen).toEqual(['error']);
    expect(JSON.stringify(await events(audit))).not.toContain('hunter2');

    const broken = harness({
      outputFilters: [
        () => {
          throw new Error('detector crashed');
        },
      ],
    }).harness;
    expect(await broken.call(request('db.select'), failing)).toMatchObject({
      status: 'error',
      error: 'tool failed: error message withheld: filter failed: detector crashed',
    });
    const silent = harness({ outputFilters: [() => undefined] }).harness;
    expect(await silent.call(request('db.select'), failing)).toMatchObject({
      status: 'error',
      error: 'tool failed: error message withheld: a filter did not return text',
    });
  });

  it('keeps limits exact under concurrent calls', async () => {
    const { harness: subject } = harness();
    const executor = vi.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'ok';
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => subject.call(request('payments.lookup'), executor)),
    );
    expect(results.filter((result) => result.status === 'ok')).toHaveLength(3);
    expect(executor).toHaveBeenCalledTimes(3);
  });

  it('releases a limit reservation when the call does not run', async () => {
    const limited = policyFrom(`
rules:
  - { id: held, effect: approve, reason: held }
limits:
  - { id: one, window: 1h, max: 1, reason: one call }
`);
    const other = new Harness({
      policy: { current: limited },
      audit: memoryLog(),
      approvals: async () => ({ approved: false }),
    });
    expect((await other.call(request('db.select'), async () => 'x')).status).toBe('denied');
    const second = await other.call(request('db.select'), async () => 'x');
    // refused by the approver again, not by the limit: the first reservation was released
    expect(second.status === 'denied' && second.reason).toContain('approval refused');
  });

  it('refuses a session used by another agent, and malformed requests', async () => {
    const { harness: subject } = harness();
    await subject.call(request('db.select'), async () => 'ok');
    const hijack = await subject.call(
      request('db.select', {}, { principal: { agentId: 'agent-b' } }),
      async () => 'ok',
    );
    expect(hijack.decision.diagnostics[0]).toMatchObject({ code: 'session_agent_mismatch' });
    const malformed = await subject.call(
      { principal: { agentId: '' }, tool: { server: 'crm' } } as unknown as CallRequest,
      async () => 'ok',
    );
    expect(malformed).toMatchObject({ status: 'denied' });
    expect(malformed.decision.diagnostics[0]).toMatchObject({ code: 'invalid_input' });
  });

  it('records provenance: the intent of each outcome, the inputs and the delegating call', async () => {
    const { harness: subject, audit } = harness();
    const lookup = await subject.call(request('db.select', { table: 'customers' }), async () => ({
      email: 'a@b.c',
    }));
    const parent = 'parent-decision';
    const derived = await subject.call(
      { ...request('db.select', { table: 'orders' }), provenance: { inputs: [lookup.decisionId], parent } },
      async () => 'rows',
    );
    const intent = (await events(audit)).find(
      (event) => event.kind === 'call-intent' && event.decisionId === derived.decisionId,
    );
    expect(intent?.kind === 'call-intent' && intent.links).toEqual([
      { rel: 'input', id: `${lookup.decisionId}/outcome` },
      { rel: 'parent', id: `${parent}/intent` },
    ]);
    const nonsense = await subject.call(null as unknown as CallRequest, async () => 'never');
    expect(nonsense.decision.diagnostics[0]).toMatchObject({ code: 'invalid_input' });
  });

  it('counts what an operator override lets run towards the limits (a human lets it run, not around the budget)', async () => {
    const capped = policyFrom(`
rules:
  - { id: all, effect: allow, reason: all }
limits:
  - { id: spend, tool: { name: payments.send }, per: [session], window: 1d, max: 100, sum: args.amount, reason: at most 100 a session }
`);
    let overrideFor = '';
    const overrides = async (hash: string) =>
      hash === overrideFor ? { by: 'olga', reason: 'a known supplier' } : undefined;
    const subject = new Harness({ policy: { current: capped }, audit: memoryLog(), overrides });
    const pay = (amount: number) => request('payments.send', { amount });
    expect((await subject.call(pay(60), async () => 'sent')).status).toBe('ok');
    const refused = await subject.call(pay(60), async () => 'sent');
    expect(refused.decision.decidedBy).toEqual(['spend']);
    overrideFor = callHash(ToolCallSchema.parse(pay(60)));
    expect((await subject.call(pay(60), async () => 'sent')).status).toBe('ok');
    // 120 spent: the budget is gone, whatever the override
    const after = await subject.call(pay(10), async () => 'sent');
    expect(after.status).toBe('denied');
    expect(after.decision.decidedBy).toEqual(['spend']);
  });

  it('feeds executed calls into the session history for sequence rules', async () => {
    const sequenced = policyFrom(`
rules:
  - { id: all, effect: allow, reason: all }
sequences:
  - id: lookup-first
    tool: { name: payments.send }
    requires: { tool: { name: payments.lookup } }
    reason: look the invoice up first
`);
    const audit = memoryLog();
    const subject = new Harness({ policy: { current: sequenced }, audit });
    expect((await subject.call(request('payments.send'), async () => 'sent')).status).toBe('denied');
    expect((await subject.call(request('payments.lookup'), async () => 'found')).status).toBe('ok');
    expect((await subject.call(request('payments.send'), async () => 'sent')).status).toBe('ok');
    // the history is the audit log's: a second harness on the same log (a restart, another replica) sees it
    const restarted = new Harness({ policy: { current: sequenced }, audit });
    expect((await restarted.call(request('payments.send'), async () => 'sent')).status).toBe('ok');
    expect(
      (await restarted.call(request('payments.send', {}, { sessionId: 's2' }), async () => 'sent')).status,
    ).toBe('denied');
  });
});

/** A standing check whose answers the test sets; `lose` also tells the listeners. */
function fakeStanding(): StandingCheck & {
  refusal: StandingRefusal | undefined;
  fresh: StandingRefusal | undefined;
  lose(refusal: StandingRefusal): void;
} {
  const listeners = new Set<() => void>();
  const fake = {
    refusal: undefined as StandingRefusal | undefined,
    fresh: undefined as StandingRefusal | undefined,
    check: () => fake.refusal,
    recheck: async () => fake.fresh ?? fake.refusal,
    onChange: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lose: (refusal: StandingRefusal) => {
      fake.refusal = refusal;
      for (const listener of listeners) listener();
    },
  };
  return fake;
}
