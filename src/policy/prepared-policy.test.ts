/**
 * @module policy/prepared-policy.test
 * The decision engine: matching, precedence, fail-closed behaviour, sequence and limit rules, shadow mode.
 */
import { describe, expect, it } from 'vitest';
import { input, policyFrom, T0 } from '../../test/support/policy-fixtures.js';
import { WindowCounters } from './window-counters.js';

const HOUR = 3_600_000;

describe('matching and precedence', () => {
  const policy = policyFrom(`
rules:
  - id: read-three-tables
    effect: allow
    principal: { agents: support-skill }
    tool: { server: crm, name: db.select }
    when: 'args.table in ["customers", "orders", "tickets"]'
    reason: the support skill reads three tables
  - id: writes-need-approval
    effect: approve
    principal: { roles: [operator] }
    tool: { effects: [write] }
    reason: writes by operators are reviewed
  - id: operators-write
    effect: allow
    principal: { roles: [operator] }
    tool: { server: crm }
    reason: operators may use the crm
  - id: no-deletes
    effect: deny
    tool: { name: "db.*" }
    when: 'has(args.sql) && args.sql.startsWith("DELETE")'
    reason: nobody deletes through an agent
`);

  it('allows a call that an allow rule matches, naming the rule and its reason', () => {
    const decision = policy.evaluate(input({ agentId: 'support-skill', args: { table: 'customers' } }));
    expect(decision.effect).toBe('allow');
    expect(decision.matchedRules).toEqual(['read-three-tables']);
    expect(decision.reasons).toEqual(['the support skill reads three tables']);
    expect(decision.policyHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(decision.tool).toEqual({ risk: 'low', effects: ['read'], untrustedOutput: false });
  });

  it('denies by default when no rule matches', () => {
    const decision = policy.evaluate(input({ agentId: 'support-skill', args: { table: 'payroll' } }));
    expect(decision.effect).toBe('deny');
    expect(decision.matchedRules).toEqual([]);
    expect(decision.reasons[0]).toContain('no rule allows `crm/db.select` for agent `support-skill`');
  });

  it('approve beats allow', () => {
    const decision = policy.evaluate(
      input({ agentId: 'op', roles: ['operator'], tool: 'db.execute', args: { sql: 'UPDATE x' } }),
    );
    expect(decision.effect).toBe('approve');
    expect(decision.matchedRules).toEqual(['writes-need-approval', 'operators-write']);
    expect(decision.obligations).toContainEqual({
      kind: 'approval',
      ruleIds: ['writes-need-approval'],
      requirements: [
        {
          ruleId: 'writes-need-approval',
          approvers: ['approver', 'admin'],
          quorum: 1,
          ownerMayApprove: false,
        },
      ],
    });
  });

  it("carries each holding rule's approval requirement and the shortest expiry", () => {
    const held = policyFrom(`
rules:
  - id: big-payments
    effect: approve
    reason: payments over 1000 need two finance approvers
    tool: { name: payments.send }
    when: args.amount > 1000
    approval: { approvers: finance-approvers, quorum: 2, expires: 30m }
  - id: new-payees
    effect: approve
    reason: a new payee needs its owner or an approver
    tool: { name: payments.send }
    approval: { approvers: [approver, owner], ownerMayApprove: true, expires: 10m }
`);
    const decision = held.evaluate(
      input({ agentId: 'a', server: 'pay', tool: 'payments.send', args: { amount: 5000 } }),
    );
    expect(decision.effect).toBe('approve');
    expect(decision.obligations).toContainEqual({
      kind: 'approval',
      ruleIds: ['big-payments', 'new-payees'],
      requirements: [
        { ruleId: 'big-payments', approvers: ['finance-approvers'], quorum: 2, ownerMayApprove: false },
        { ruleId: 'new-payees', approvers: ['approver', 'owner'], quorum: 1, ownerMayApprove: true },
      ],
      expiresInMs: 600_000,
    });
  });

  it('deny beats approve and allow', () => {
    const decision = policy.evaluate(
      input({ agentId: 'op', roles: ['operator'], tool: 'db.execute', args: { sql: 'DELETE FROM x' } }),
    );
    expect(decision.effect).toBe('deny');
    expect(decision.matchedRules).toContain('no-deletes');
    expect(decision.reasons).toEqual(['nobody deletes through an agent']);
    expect(decision.obligations).toEqual([]);
  });

  it('matches principals by owner and delegation depth', () => {
    const scoped = policyFrom(`
rules:
  - id: dana-direct
    effect: allow
    principal: { owners: [dana], delegationDepth: { max: 0 } }
    reason: dana's agents, acting on their own task
`);
    expect(scoped.evaluate(input({ owner: 'dana' })).effect).toBe('allow');
    expect(scoped.evaluate(input({ owner: 'eve' })).effect).toBe('deny');
    expect(scoped.evaluate(input({})).effect).toBe('deny');
    expect(scoped.evaluate(input({ owner: 'dana', delegatedBy: ['planner'] })).effect).toBe('deny');
  });

  it('matches agents and tools by glob, risk and effects', () => {
    const globbed = policyFrom(`
rules:
  - id: support-family-reads
    effect: allow
    principal: { agents: "support-*" }
    tool: { risk: [low, medium], effects: read }
    reason: support agents read low and medium risk tools
`);
    expect(globbed.evaluate(input({ agentId: 'support-eu' })).effect).toBe('allow');
    expect(globbed.evaluate(input({ agentId: 'support-eu', server: 'web', tool: 'fetch' })).effect).toBe(
      'allow',
    );
    expect(
      globbed.evaluate(input({ agentId: 'support-eu', server: 'pay', tool: 'payments.send' })).effect,
    ).toBe('deny');
    expect(globbed.evaluate(input({ agentId: 'billing' })).effect).toBe('deny');
  });

  it('sees principal, tool, context and time in conditions', () => {
    const conditional = policyFrom(`
rules:
  - id: office-hours
    effect: allow
    when: >-
      now.getHours("UTC") >= 8 && now.getHours("UTC") < 18 && tool.risk == "low"
      && context.channel == "chat" && principal.delegationDepth == 0
    reason: low-risk tools in office hours from chat
`);
    expect(conditional.evaluate(input({ context: { channel: 'chat' } })).effect).toBe('allow');
    expect(conditional.evaluate(input({ context: { channel: 'chat' }, now: T0 + 10 * HOUR })).effect).toBe(
      'deny',
    );
    expect(conditional.evaluate(input({ context: { channel: 'chat' }, delegatedBy: ['x'] })).effect).toBe(
      'deny',
    );
  });
});

describe('fail closed', () => {
  it('denies when a condition errors at run time, with a diagnostic', () => {
    const policy = policyFrom(`
rules:
  - id: small-amounts
    effect: allow
    tool: { server: pay }
    when: 'args.amount < 100'
    reason: small payments are fine
`);
    const missing = policy.evaluate(input({ server: 'pay', tool: 'payments.send', args: {} }));
    expect(missing.effect).toBe('deny');
    expect(missing.diagnostics).toEqual([
      { code: 'condition_error', message: expect.stringContaining('small-amounts'), ruleId: 'small-amounts' },
    ]);
    const wrongType = policy.evaluate(
      input({ server: 'pay', tool: 'payments.send', args: { amount: 'lots' } }),
    );
    expect(wrongType.effect).toBe('deny');
    expect(wrongType.diagnostics[0]?.code).toBe('condition_error');
    expect(policy.evaluate(input({ server: 'pay', tool: 'payments.send', args: { amount: 5 } })).effect).toBe(
      'allow',
    );
  });

  it('denies when an errored rule would only have denied, even if another rule allows', () => {
    const policy = policyFrom(`
rules:
  - id: allow-all-reads
    effect: allow
    reason: reads are fine
  - id: deny-big-exports
    effect: deny
    when: 'args.rows > 1000'
    reason: no bulk exports
`);
    const decision = policy.evaluate(input({ args: {} }));
    expect(decision.effect).toBe('deny');
    expect(decision.reasons[0]).toMatch(/^fail closed: rule `deny-big-exports`/);
  });

  it('denies a condition that returns something other than a bool', () => {
    const policy = policyFrom(`
rules:
  - id: dynamic
    effect: allow
    when: 'args.flag'
    reason: flag set
`);
    expect(policy.evaluate(input({ args: { flag: true } })).effect).toBe('allow');
    const decision = policy.evaluate(input({ args: { flag: 'yes' } }));
    expect(decision.effect).toBe('deny');
    expect(decision.diagnostics[0]?.message).toContain('not a bool');
  });

  it('denies a tool that is not in the catalogue', () => {
    const policy = policyFrom(`
rules:
  - id: everything
    effect: allow
    reason: allow all
`);
    const decision = policy.evaluate(input({ server: 'shell', tool: 'exec' }));
    expect(decision.effect).toBe('deny');
    expect(decision.diagnostics[0]?.code).toBe('unknown_tool');
    expect(decision.reasons[0]).toBe('unknown tool `shell/exec`: it is not in the catalogue');
  });

  it('denies calls in a paused or killed session', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
`);
    for (const status of ['paused', 'killed'] as const) {
      const decision = policy.evaluate(input({ status }));
      expect(decision.effect).toBe('deny');
      expect(decision.diagnostics[0]?.code).toBe(`session_${status}`);
    }
  });

  it('turns an internal failure into a deny instead of throwing', () => {
    const policy = policyFrom(`
limits:
  - { id: calls, per: [session], window: 1h, max: 10, reason: ten calls an hour }
rules:
  - { id: everything, effect: allow, reason: allow all }
`);
    const broken = {
      total(): number {
        throw new Error('counter store unreachable');
      },
    };
    const decision = policy.evaluate(input({ counters: broken }));
    expect(decision.effect).toBe('deny');
    expect(decision.diagnostics[0]).toMatchObject({ code: 'internal_error' });
    expect(decision.reasons[0]).toContain('counter store unreachable');
  });
});

describe('sequence rules', () => {
  const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
sequences:
  - id: pay-after-lookup
    tool: { name: payments.send }
    requires:
      tool: { name: payments.lookup }
      when: 'prior.args.invoice == args.invoice'
      within: 1h
    reason: a payment must follow a lookup of the same invoice
  - id: no-writes-after-web
    tool: { effects: write }
    forbids:
      tool: { server: web }
    reason: no database writes once the session has read the web
`);
  const send = { server: 'pay', tool: 'payments.send', args: { invoice: 'INV-1' } };
  const lookup = (args: Record<string, unknown>, at: number, outcome: 'ok' | 'error' | 'pending' = 'ok') => ({
    tool: { server: 'pay', name: 'payments.lookup' },
    args,
    at,
    outcome,
  });

  it('"X only after Y": denied without Y, allowed after it', () => {
    expect(policy.evaluate(input(send)).effect).toBe('deny');
    expect(policy.evaluate(input(send)).matchedRules).toContain('pay-after-lookup');
    const after = policy.evaluate(input({ ...send, history: [lookup({ invoice: 'INV-1' }, T0 - 60_000)] }));
    expect(after.effect).toBe('allow');
  });

  it('"X only after Y" looks at the prior call through `prior`, its outcome and the window', () => {
    expect(policy.evaluate(input({ ...send, history: [lookup({ invoice: 'INV-2' }, T0 - 1)] })).effect).toBe(
      'deny',
    );
    expect(
      policy.evaluate(input({ ...send, history: [lookup({ invoice: 'INV-1' }, T0 - 2 * HOUR)] })).effect,
    ).toBe('deny');
    expect(
      policy.evaluate(input({ ...send, history: [lookup({ invoice: 'INV-1' }, T0 - 1, 'error')] })).effect,
    ).toBe('deny');
    expect(
      policy.evaluate(input({ ...send, history: [lookup({ invoice: 'INV-1' }, T0 - 1, 'pending')] })).effect,
    ).toBe('deny');
  });

  it('"never X after Y": denied once Y ran, even while Y is still running', () => {
    const write = { tool: 'db.execute' };
    expect(policy.evaluate(input(write)).effect).toBe('allow');
    const web = { tool: { server: 'web', name: 'fetch' }, args: {}, at: T0 - 1, outcome: 'pending' as const };
    const decision = policy.evaluate(input({ ...write, history: [web] }));
    expect(decision.effect).toBe('deny');
    expect(decision.reasons).toEqual(['no database writes once the session has read the web']);
  });
});

describe('limits', () => {
  it('counts calls per session in a sliding window', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
limits:
  - { id: three-per-hour, per: [session], window: 1h, max: 3, reason: at most three calls an hour }
`);
    const counters = new WindowCounters();
    const decide = (now: number, sessionId = 's1') => {
      const decision = policy.evaluate(input({ counters, now, sessionId }));
      for (const obligation of decision.obligations) {
        if (obligation.kind === 'count') counters.reserve(obligation.key, now, obligation.amount);
      }
      return decision.effect;
    };
    expect([decide(T0), decide(T0 + 1), decide(T0 + 2), decide(T0 + 3)]).toEqual([
      'allow',
      'allow',
      'allow',
      'deny',
    ]);
    expect(decide(T0 + 4, 's2')).toBe('allow');
    expect(decide(T0 + HOUR + 1)).toBe('allow');
  });

  it('keeps running totals and counts only what was let through', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
limits:
  - id: daily-payments
    tool: { name: payments.send }
    per: [agent]
    window: 24h
    max: 1000
    sum: args.amount
    reason: at most 1000 a day per agent
`);
    const counters = new WindowCounters();
    const pay = (amount: number, now: number, agentId = 'agent-a') => {
      const decision = policy.evaluate(
        input({ server: 'pay', tool: 'payments.send', args: { amount }, counters, now, agentId }),
      );
      for (const obligation of decision.obligations) {
        if (obligation.kind === 'count') counters.reserve(obligation.key, now, obligation.amount);
      }
      return decision.effect;
    };
    expect(pay(600, T0)).toBe('allow');
    expect(pay(500, T0 + 1)).toBe('deny');
    expect(pay(400, T0 + 2)).toBe('allow');
    expect(pay(1, T0 + 3)).toBe('deny');
    expect(pay(900, T0 + 4, 'agent-b')).toBe('allow');
    expect(pay(1000, T0 + 25 * HOUR)).toBe('allow');
  });

  it('denies when the amount cannot be computed', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
limits:
  - { id: spend, window: 1h, max: 10, sum: args.amount, reason: spend cap }
`);
    expect(policy.evaluate(input({ args: {} })).effect).toBe('deny');
    expect(policy.evaluate(input({ args: { amount: -5 } })).effect).toBe('deny');
  });
});

describe('shadow mode', () => {
  it('evaluates shadow rules and reports what they would do, without enforcing them', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
  - id: candidate-no-writes
    effect: deny
    mode: shadow
    tool: { effects: write }
    reason: we are considering forbidding writes
`);
    const decision = policy.evaluate(input({ tool: 'db.execute' }));
    expect(decision.effect).toBe('allow');
    expect(decision.matchedRules).toEqual(['everything']);
    expect(decision.shadow).toEqual({
      effect: 'deny',
      matchedRules: ['everything', 'candidate-no-writes'],
      reasons: ['we are considering forbidding writes'],
    });
  });

  it('a policy in shadow mode alone enforces nothing, so everything is denied by default', () => {
    const policy = policyFrom(`
mode: shadow
rules:
  - { id: everything, effect: allow, reason: allow all }
`);
    const decision = policy.evaluate(input());
    expect(decision.effect).toBe('deny');
    expect(decision.shadow?.effect).toBe('allow');
  });

  it('reports no shadow verdict when there are no shadow rules', () => {
    const policy = policyFrom(`
rules:
  - { id: everything, effect: allow, reason: allow all }
`);
    expect(policy.evaluate(input()).shadow).toBeUndefined();
  });
});

describe('indexing', () => {
  it('finds the rules for a tool among thousands, whether they name it exactly or by glob', () => {
    const rules = Array.from(
      { length: 5_000 },
      (_, index) =>
        `  - { id: r${index}, effect: allow, tool: { name: "tool-${index}" }, reason: r${index} }`,
    ).join('\n');
    const catalogue = `tools:\n  - { server: s, name: "*", risk: low, effects: [read] }`;
    const policy = policyFrom(
      `rules:\n${rules}\n  - { id: glob-deny, effect: deny, tool: { name: "tool-42*" }, reason: forty-two family }`,
      { catalogue },
    );
    expect(policy.evaluate(input({ server: 's', tool: 'tool-7' })).matchedRules).toEqual(['r7']);
    expect(policy.evaluate(input({ server: 's', tool: 'tool-420' })).matchedRules).toEqual([
      'r420',
      'glob-deny',
    ]);
    expect(policy.evaluate(input({ server: 's', tool: 'tool-420' })).effect).toBe('deny');
    expect(policy.evaluate(input({ server: 's', tool: 'tool-x' })).effect).toBe('deny');
  });
});

describe('mayAllow (which tools an agent is shown)', () => {
  const policy = policyFrom(`
rules:
  - { id: support-reads, effect: allow, principal: { agents: support }, tool: { effects: read }, when: 'has(args.table)', reason: r }
  - { id: writes-held, effect: approve, principal: { roles: [operator] }, tool: { effects: write }, reason: r }
  - { id: never-pay, effect: deny, principal: { agents: support }, tool: { server: pay }, reason: r }
  - { id: pay-reads, effect: allow, tool: { server: pay, name: payments.lookup }, reason: r }
`);
  const principal = (agentId: string, extra: { roles?: string[]; scopes?: string[] } = {}) => ({
    agentId,
    roles: extra.roles ?? [],
    delegatedBy: [],
    parentSessions: [],
    ...(extra.scopes ? { scopes: extra.scopes } : {}),
  });
  it('shows tools some allow or approve rule could let through, whatever their conditions', () => {
    expect(policy.mayAllow(principal('support'), { server: 'crm', name: 'db.select' })).toBe(true);
    expect(
      policy.mayAllow(principal('op', { roles: ['operator'] }), { server: 'crm', name: 'db.execute' }),
    ).toBe(true);
  });
  it('hides unknown tools, tools nothing allows, unconditionally denied ones and those out of scope', () => {
    expect(policy.mayAllow(principal('support'), { server: 'shell', name: 'exec' })).toBe(false);
    expect(policy.mayAllow(principal('support'), { server: 'crm', name: 'db.execute' })).toBe(false);
    expect(policy.mayAllow(principal('support'), { server: 'pay', name: 'payments.lookup' })).toBe(false);
    expect(policy.mayAllow(principal('other'), { server: 'pay', name: 'payments.lookup' })).toBe(true);
    expect(
      policy.mayAllow(principal('support', { scopes: ['pay/*'] }), { server: 'crm', name: 'db.select' }),
    ).toBe(false);
  });
});
