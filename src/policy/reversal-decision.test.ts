/**
 * @module policy/reversal-decision.test
 * The decision sees reversibility: the CEL variable `reversal` ({reversible, kind}), from the facts the
 * enforcement point found once it took the call's captures, or else from what the policy declares.
 * "An action that cannot be undone needs a human" holds a call to a tool with no compensation.
 */
import { describe, expect, it } from 'vitest';
import { call, input, policyFrom, T0 } from '../../test/support/policy-fixtures.js';
import { decideCall } from './decide-call.js';
import { WindowCounters } from './window-counters.js';

const CATALOGUE = `
tools:
  - { server: crm, name: "db.execute", risk: high, effects: [write] }
  - { server: crm, name: "db.select", risk: low, effects: [read] }
  - { server: pay, name: "payments.send", risk: critical, effects: [external], reversal: { external: money sent is gone } }
  - { server: files, name: "*", risk: medium, effects: [read, write] }
  - server: crm
    name: tickets.close
    risk: medium
    effects: [write]
    reversal:
      compensate:
        - { tool: tickets.reopen, args: { id: args.id } }
rollback:
  profiles:
    - { profile: server-filesystem, server: files }
`;

const policy = policyFrom(
  `rules:
  - id: gate-what-cannot-be-undone
    effect: approve
    reason: an action that cannot be undone needs a human
    tool: { effects: [write, external, irreversible] }
    when: "!reversal.reversible"
  - id: mail-is-reviewed
    effect: approve
    reason: what leaves cannot be recalled
    when: 'reversal.kind == "external"'
  - { id: everything, effect: allow, reason: the team may use its tools }
`,
  { catalogue: CATALOGUE },
);

const state = {
  session: { id: 'session-1', status: 'active' as const, startedAt: T0, history: [], labels: [] },
  counters: new WindowCounters(),
};

describe('the decision sees reversibility', () => {
  it('holds a write to a tool with no compensation for a human', () => {
    const decision = policy.evaluate(input({ tool: 'db.execute', args: { sql: 'UPDATE x' } }));
    expect(decision.effect).toBe('approve');
    expect(decision.decidedBy).toEqual(['gate-what-cannot-be-undone']);
    expect(decision.reasons).toEqual(['an action that cannot be undone needs a human']);
  });

  it('lets through a write with a declared compensation, its own or a profile’s', () => {
    expect(policy.evaluate(input({ tool: 'tickets.close', args: { id: 7 } })).effect).toBe('allow');
    const write = input({ server: 'files', tool: 'write_file', args: { path: 'a.txt', content: 'x' } });
    expect(policy.evaluate(write).effect).toBe('allow');
  });

  it('never gates a read, and sees the kind of an external tool', () => {
    expect(policy.evaluate(input({ tool: 'db.select' })).effect).toBe('allow');
    const send = policy.evaluate(input({ server: 'pay', tool: 'payments.send' }));
    expect(send.effect).toBe('approve');
    expect(send.decidedBy).toEqual(['gate-what-cannot-be-undone', 'mail-is-reviewed']);
  });

  it('uses the facts the enforcement point found when it took the captures', () => {
    const write = call({ server: 'files', tool: 'write_file', args: { path: 'logo.png', content: 'x' } });
    const inexact = decideCall(policy, {
      call: write,
      state,
      now: T0,
      reversal: { kind: 'unavailable', reversible: false, reason: 'binary content' },
    });
    expect(inexact.decision.effect).toBe('approve');
    const exact = decideCall(policy, {
      call: write,
      state,
      now: T0,
      reversal: { kind: 'reversible', reversible: true },
    });
    expect(exact.decision.effect).toBe('allow');
    const declared = decideCall(policy, { call: write, state, now: T0 });
    expect(declared.decision.effect).toBe('allow');
  });

  it('is known to sequence and limit rules too', () => {
    const guarded = policyFrom(
      `rules:
  - { id: everything, effect: allow, reason: ok }
sequences:
  - id: undoable-after-lookup
    reason: only undoable changes follow a lookup
    tool: { name: db.execute }
    forbids: { tool: { name: db.select }, when: '!reversal.reversible' }
limits:
  - { id: few-undeclared, reason: few, window: 1h, max: 0, when: 'reversal.kind == "undeclared"', tool: { name: db.execute } }
`,
      { catalogue: CATALOGUE },
    );
    const history = [
      { tool: { server: 'crm', name: 'db.select' }, args: {}, at: T0 - 1, outcome: 'ok' as const },
    ];
    const decision = guarded.evaluate(input({ tool: 'db.execute', history }));
    expect(decision.effect).toBe('deny');
    expect(decision.matchedRules).toEqual(['everything', 'undoable-after-lookup', 'few-undeclared']);
  });
});
