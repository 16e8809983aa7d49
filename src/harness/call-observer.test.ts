/**
 * @module harness/call-observer.test
 * The harness tells its observer about every call exactly once, whichever way the call ends: run,
 * denied by a rule, refused as invalid input, and opened/completed through the remote protocol.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import type { AuditLog } from '../store/audit-log.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import type { CallObservation } from './call-observer.js';
import { Harness } from './harness.js';
import type { CallRequest } from './types.js';

const POLICY = policyFrom(`
rules:
  - id: reads
    effect: allow
    tool: { effects: read }
    reason: reads are fine
  - id: no-sends
    effect: deny
    tool: { name: payments.send }
    reason: no payments
`);

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

function observed(): { harness: Harness; seen: CallObservation[] } {
  const audit = new SqliteAuditLog({ path: ':memory:' });
  logs.push(audit);
  const seen: CallObservation[] = [];
  const harness = new Harness({
    policy: { current: POLICY },
    audit,
    observer: { observeCall: (observation) => seen.push(observation) },
  });
  return { harness, seen };
}

function request(tool: string): CallRequest {
  const server = tool.startsWith('payments') ? 'pay' : 'crm';
  return { principal: { agentId: 'agent-a' }, sessionId: 's1', tool: { server, name: tool }, args: {} };
}

describe('the call observer', () => {
  it('is told once per call with its effect, deciding rules and durations', async () => {
    const { harness, seen } = observed();
    await harness.call(request('db.select'), async () => ({ rows: 1 }));
    await harness.call(request('payments.send'), async () => 'never');
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ effect: 'allow', decidedBy: ['reads'], outcome: 'ok' });
    expect(seen[1]).toMatchObject({ effect: 'deny', decidedBy: ['no-sends'], outcome: 'denied' });
    for (const observation of seen) {
      expect(observation.decisionSeconds).toBeGreaterThanOrEqual(0);
      expect(observation.durationSeconds).toBeGreaterThanOrEqual(observation.decisionSeconds ?? 0);
    }
  });

  it('is told about a call refused before it could be decided', async () => {
    const { harness, seen } = observed();
    const result = await harness.call({ nonsense: true } as unknown as CallRequest, async () => 'never');
    expect(result.status).toBe('denied');
    expect(seen).toEqual([
      expect.objectContaining({ effect: 'deny', decidedBy: ['reins.invalid_input'], outcome: 'denied' }),
    ]);
    expect(seen[0]?.decisionSeconds).toBeUndefined();
  });

  it('is told when a call of the remote protocol ends: at completion, or at once when denied', async () => {
    const { harness, seen } = observed();
    const opened = await harness.open(request('db.select'));
    expect(opened.ok && opened.state.status).toBe('ready');
    expect(seen).toHaveLength(0); // the agent is running it
    if (!opened.ok) throw new Error('not opened');
    const caller = { principal: { agentId: 'agent-a', delegatedBy: [] }, sessionId: 's1' };
    await harness.complete(caller as never, opened.state.id, { ok: true, result: 'done' });
    expect(seen).toEqual([expect.objectContaining({ effect: 'allow', decidedBy: ['reads'], outcome: 'ok' })]);
    await harness.open(request('payments.send'));
    expect(seen[1]).toMatchObject({ effect: 'deny', decidedBy: ['no-sends'] });
    expect(seen).toHaveLength(2);
  });

  it('is told once when the log refuses the intent (denied) or the outcome (error)', async () => {
    for (const refused of ['call-intent', 'call-outcome'] as const) {
      const real = new SqliteAuditLog({ path: ':memory:' });
      logs.push(real);
      const audit: AuditLog = {
        ...pick(real),
        append: (event, options) =>
          event.kind === refused ? Promise.reject(new Error('disk full')) : real.append(event, options),
      };
      const seen: CallObservation[] = [];
      const harness = new Harness({
        policy: { current: POLICY },
        audit,
        observer: { observeCall: (observation) => seen.push(observation) },
      });
      const result = await harness.call(request('db.select'), async () => 'fine');
      expect(seen).toHaveLength(1);
      if (refused === 'call-intent') {
        expect(result.status).toBe('denied');
        expect(seen[0]).toMatchObject({ effect: 'deny', decidedBy: ['reins.audit_unavailable'] });
      } else {
        expect(result.status).toBe('error');
        expect(seen[0]).toMatchObject({ effect: 'allow', decidedBy: ['reads'], outcome: 'error' });
      }
    }
  });

  it('never lets an observer that throws change a call', async () => {
    const audit = new SqliteAuditLog({ path: ':memory:' });
    logs.push(audit);
    const harness = new Harness({
      policy: { current: POLICY },
      audit,
      observer: {
        observeCall: () => {
          throw new Error('broken metrics');
        },
      },
    });
    const result = await harness.call(request('db.select'), async () => 'fine');
    expect(result.status).toBe('ok');
  });
});

/** Every method of a real log but `append`, bound to it. */
function pick(real: AuditLog): Omit<AuditLog, 'append'> {
  return {
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
