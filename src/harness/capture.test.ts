/**
 * @module harness/capture.test
 * The capture stage in the pipeline (issue 16): a call whose tool declares a compensation runs only
 * after its state is captured, and the capture is stored with the intent (hash and view in the record,
 * raw bytes beside it); a capture that fails refuses the call; where nothing can be captured the call
 * is not reversible (and a reversible-or-approved rule holds it); a held call whose state changed while
 * it waited does not run; a compensation runs without the agent's standing and captures nothing. The
 * upstream reader is a fake; the audit log is the real SQLite one in memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import type { AuditEventV1, CallIntentEvent } from '../spec/audit-event.js';
import type { StandingCheck, StandingSubject } from '../spec/standing.js';
import type { AuditLog } from '../store/audit-log.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { digestOf, type UpstreamReader, unsealCaptured } from './capture.js';
import { Harness, type HarnessOptions } from './harness.js';
import type { ApprovalHandler, CallRequest } from './types.js';

const POLICY = policyFrom(
  `
tools:
  - server: notes
    name: put
    risk: medium
    effects: [write]
    reversal:
      capture:
        - { name: before, tool: get, args: { key: args.key }, accept: "capture.ok || capture.error.contains('missing')" }
      compensate:
        - { tool: put, when: captured.before.ok, args: { key: args.key, text: captured.before.result.text } }
      exact: "!captured.before.ok || !captured.before.result.text.startsWith('bin:')"
      inexact: binary notes cannot be written back
      resources: "[args.key]"
  - { server: notes, name: wipe, risk: high, effects: [irreversible], reversal: { irreversible: wiped for good } }
rules:
  - { id: allow, effect: allow, tool: { server: notes }, reason: notes }
  - id: gate
    effect: approve
    reason: what cannot be undone needs a human
    tool: { effects: [write, irreversible] }
    when: "!reversal.reversible"
`,
  { catalogue: '' },
);

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

function setup(options: Partial<HarnessOptions> = {}) {
  const audit = new SqliteAuditLog({ path: ':memory:' });
  logs.push(audit);
  return { audit, harness: new Harness({ policy: { current: POLICY }, audit, ...options }) };
}

function put(key: string, text: string, extra: Partial<CallRequest> = {}): CallRequest {
  return {
    principal: { agentId: 'writer' },
    sessionId: 's1',
    tool: { server: 'notes', name: 'put' },
    args: { key, text },
    ...extra,
  };
}

/** A notes store the fake upstream reads: `get` fails with `missing` for an absent key. */
function notes(initial: Record<string, string>) {
  const store = new Map(Object.entries(initial));
  const reads: string[] = [];
  const read: UpstreamReader = async (tool, args) => {
    reads.push(`${tool}:${String(args.key)}`);
    if (tool !== 'get') throw new Error(`unexpected capture tool ${tool}`);
    const text = store.get(String(args.key));
    if (text === undefined) return { isError: true, text: `note ${String(args.key)} missing` };
    return { text };
  };
  const errorOfResult = (result: unknown) =>
    (result as { isError?: boolean }).isError ? String((result as { text: string }).text) : undefined;
  return { store, reads, read, errorOfResult };
}

async function intents(audit: AuditLog): Promise<CallIntentEvent[]> {
  const all: AuditEventV1[] = [];
  for await (const record of audit.records()) all.push(JSON.parse(record.body) as AuditEventV1);
  return all.filter((event): event is CallIntentEvent => event.kind === 'call-intent');
}

describe('the capture stage', () => {
  it('captures before the call runs and stores the raw state with the intent, the record holding its hash', async () => {
    const { audit, harness } = setup();
    const upstream = notes({ a: 'old text' });
    const order: string[] = [];
    const result = await harness.call(
      put('a', 'new text'),
      async (args) => {
        order.push('run');
        upstream.store.set('a', String(args.text));
        return { ok: true };
      },
      {
        readUpstream: async (...args) => {
          order.push('capture');
          return upstream.read(...args);
        },
        errorOfResult: upstream.errorOfResult,
      },
    );
    expect(result.status).toBe('ok');
    expect(order).toEqual(['capture', 'run']);
    const [intent] = await intents(audit);
    expect(intent?.reversal?.kind).toBe('reversible');
    const capture = intent?.reversal?.captures?.[0];
    expect(capture?.hash).toMatch(/^[0-9a-f]{64}$/);
    const raw = await audit.readCaptured(capture?.hash as string);
    // stored behind a random salt, so the hash in the log confirms no guess of the content
    expect(JSON.parse(new TextDecoder().decode(unsealCaptured(raw as Uint8Array)))).toEqual({
      ok: true,
      result: { text: 'old text' },
    });
    expect(capture?.hash).not.toBe(digestOf(unsealCaptured(raw as Uint8Array)));
  });

  it('accepts a capture of an absent state, and refuses the call when a capture fails', async () => {
    const { audit, harness } = setup();
    const upstream = notes({});
    let ran = 0;
    const created = await harness.call(put('new', 'x'), async () => ++ran, {
      readUpstream: upstream.read,
      errorOfResult: upstream.errorOfResult,
    });
    expect(created.status).toBe('ok');
    const failing: UpstreamReader = async () => {
      throw new Error('disk on fire');
    };
    const refused = await harness.call(put('b', 'x'), async () => ++ran, {
      readUpstream: failing,
      errorOfResult: upstream.errorOfResult,
    });
    expect(refused.status).toBe('denied');
    expect(refused.status === 'denied' && refused.reason).toContain('disk on fire');
    expect(ran).toBe(1);
    const recorded = await intents(audit);
    expect(recorded[1]?.decision.diagnostics.map((diagnostic) => diagnostic.code)).toContain(
      'capture_failed',
    );
  });

  it('holds what the captures show cannot be undone exactly, and what cannot be captured here', async () => {
    const approvals: ApprovalHandler = async () => ({ approved: false, by: 'ann', reason: 'no' });
    const { harness } = setup({ approvals });
    const upstream = notes({ img: 'bin:0101' });
    let ran = 0;
    const binary = await harness.call(put('img', 'text'), async () => ++ran, {
      readUpstream: upstream.read,
      errorOfResult: upstream.errorOfResult,
    });
    expect(binary.decision.effect).toBe('approve');
    // no upstream to read (the agent runs the tool itself): not reversible here
    const blind = await harness.call(put('a', 'text'), async () => ++ran);
    expect(blind.decision.effect).toBe('approve');
    const opened = await harness.open(put('c', 'text'));
    expect(opened.ok && opened.state.status).not.toBe('ready');
    const wipe = await harness.call(
      { ...put('a', 'x'), tool: { server: 'notes', name: 'wipe' } },
      async () => ++ran,
    );
    expect(wipe.decision.effect).toBe('approve');
    expect(ran).toBe(0);
  });

  it('does not release a held call whose captured state changed while it waited', async () => {
    const upstream = notes({ img: 'bin:0101' });
    let ran = 0;
    const approvals: ApprovalHandler = async () => {
      upstream.store.set('img', 'bin:9999'); // someone else changed it while the human looked
      return { approved: true, by: 'ann' };
    };
    const { harness } = setup({ approvals });
    const held = await harness.call(put('img', 'text'), async () => ++ran, {
      readUpstream: upstream.read,
      errorOfResult: upstream.errorOfResult,
    });
    expect(held.status).toBe('denied');
    expect(held.status === 'denied' && held.reason).toContain('changed');
    expect(ran).toBe(0);
  });

  it('runs a compensation on the operator authority, without the agent standing, recorded with what it undoes', async () => {
    // like auth/agent-standing: the agents a subject names must be active (a compensation names none)
    const suspended = (subject: StandingSubject) =>
      subject.agentIds.includes('writer')
        ? ({ code: 'agent_not_active', message: 'agent `writer` is suspended' } as const)
        : undefined;
    const standing: StandingCheck = {
      check: suspended,
      recheck: async (subject) => suspended(subject),
      onChange: () => () => {},
    };
    const { audit, harness } = setup({ standing });
    const upstream = notes({ a: 'x' });
    const refused = await harness.call(put('a', 'y'), async () => 1, { readUpstream: upstream.read });
    expect(refused.status).toBe('denied');
    const compensated = await harness.compensate(
      {
        principal: { agentId: 'writer', roles: [], delegatedBy: [], parentSessions: ['killed-parent'] },
        sessionId: 'reins.rollback/s1',
        tool: { server: 'notes', name: 'put' },
        args: { key: 'a', text: 'x' },
        compensates: { decisionId: 'd-1', sessionId: 's1', rollbackId: 'r-1', by: 'root', step: 0, steps: 1 },
      },
      async () => ({ ok: true }),
    );
    expect(compensated.status).toBe('ok');
    const intent = (await intents(audit)).at(-1);
    expect(intent?.compensates).toEqual({
      decisionId: 'd-1',
      sessionId: 's1',
      rollbackId: 'r-1',
      by: 'root',
      step: 0,
      steps: 1,
    });
    expect(intent?.links).toContainEqual({ rel: 'input', id: 'd-1/outcome' });
    expect(intent?.principal.parentSessions).toEqual([]);
    expect(intent?.reversal?.captures).toBeUndefined();
  });
});
