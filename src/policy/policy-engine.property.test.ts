/**
 * @module policy/policy-engine.property.test
 * Properties of the decision engine over random policies from a small rule grammar (allow, deny and
 * approve rules and limits; tool and agent globs; CEL conditions, some of which fail at run time) and
 * random calls (known and unknown tools, odd argument values, paused sessions, narrow scopes):
 *   (a) evaluate never throws, and its decision is well formed and fails closed;
 *   (b) deny wins: the effect follows from the matched rules by precedence, and a matching deny rule
 *       added to any policy makes the call a deny;
 *   (c) the lookup indexes change nothing: the same decision as checking every rule (`index: false`);
 *   (d) the order of the rules does not change the effect or the set of matched rules.
 * A fixed seed and a bounded number of runs keep this in the unit tier; on a failure fast-check prints
 * the shrunk policy and call, and the seed and path that replay it (`fc.assert` options below).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CATALOGUE, T0 } from '../../test/support/policy-fixtures.js';
import type { Decision } from '../spec/decision.js';
import type { CounterView, DecisionInput } from '../spec/tool-call.js';
import { compilePolicy } from './compile-policy.js';
import { formatProblem } from './policy-problem.js';
import type { PreparedPolicy } from './prepared-policy.js';

const SEED = 20_261_206;
const RUNS = 100;

// ---- the grammar: what rules and calls are made of ----

const AGENTS = ['agent-a', 'agent-b', 'bot-1'] as const;
const AGENT_PATTERNS = [...AGENTS, 'agent-*', 'bot-?', '*'] as const;
const ROLES = ['operator', 'viewer'] as const;
const SERVER_PATTERNS = ['crm', 'pay', 'web', 'c*', '*'] as const;
const NAME_PATTERNS = [
  'db.select',
  'db.execute',
  'payments.send',
  'fetch',
  'db.*',
  'payments.*',
  '*',
] as const;
const TOOL_EFFECTS = ['read', 'write', 'external', 'irreversible'] as const;
/** Every one type-checks; the ones on `args` fail at run time when the argument is missing or odd. */
const CONDITIONS = [
  'args.amount > 100',
  'has(args.amount) && args.amount > 100',
  'args.table == "orders"',
  'has(args.table) && args.table in ["orders", "tickets"]',
  'args.note',
  '"operator" in principal.roles',
  'principal.delegationDepth == 0',
  'tool.risk == "high" || tool.risk == "critical"',
  'tool.name.startsWith("db.")',
] as const;
/** Tools calls name: the catalogue's (see test/support/policy-fixtures), two under `web/*`, one unknown. */
const CALL_TOOLS = [
  { server: 'crm', name: 'db.select' },
  { server: 'crm', name: 'db.execute' },
  { server: 'pay', name: 'payments.send' },
  { server: 'pay', name: 'payments.lookup' },
  { server: 'web', name: 'fetch' },
  { server: 'web', name: 'db.select' },
  { server: 'crm', name: 'missing' },
] as const;

/** A rule as written in YAML; absent (undefined) fields are dropped before it is written. */
interface RuleSpec {
  effect: 'allow' | 'deny' | 'approve';
  principal?: { agents?: string[] | undefined; roles?: string[] | undefined };
  tool?: { server?: string[] | undefined; name?: string[] | undefined; effects?: string[] | undefined };
  when?: string | undefined;
}

interface LimitSpec extends Omit<RuleSpec, 'effect'> {
  effect: 'deny' | 'approve';
  per: string[];
  window: string;
  max: number;
  sum?: string | undefined;
}

interface PolicySpec {
  rules: (RuleSpec & { id: string; reason: string })[];
  limits: (LimitSpec & { id: string; reason: string })[];
}

/** Absent two times in three: a rule with every matcher set would hardly ever match a call. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary, weight: 1 });

const optionalList = <T>(values: readonly T[]) =>
  sometimes(fc.subarray([...values], { minLength: 1, maxLength: 2 }));

/** Who and what a rule is for, and when; `clean` drops what is absent. */
const matchers = fc.record({
  principal: fc.record({ agents: optionalList(AGENT_PATTERNS), roles: optionalList(ROLES) }),
  tool: fc.record({
    server: optionalList(SERVER_PATTERNS),
    name: optionalList(NAME_PATTERNS),
    effects: optionalList(TOOL_EFFECTS),
  }),
  when: sometimes(fc.constantFrom(...CONDITIONS)),
});

const ruleSpec: fc.Arbitrary<RuleSpec> = fc
  .tuple(fc.constantFrom<RuleSpec['effect']>('allow', 'deny', 'approve'), matchers)
  .map(([effect, match]) => clean({ effect, ...match }));

const limitSpec: fc.Arbitrary<LimitSpec> = fc
  .tuple(
    fc.constantFrom<LimitSpec['effect']>('deny', 'approve'),
    matchers,
    fc.subarray(['session', 'agent', 'tool']),
    fc.integer({ min: 0, max: 4 }),
    sometimes(fc.constantFrom('args.amount', 'has(args.amount) ? args.amount : 1.0')),
  )
  .map(([effect, match, per, max, sum]) => clean({ effect, ...match, per, window: '1h', max, sum }));

/** Unique ids, in document order; the reason names the rule so that reasons can be compared as sets. */
const policySpec: fc.Arbitrary<PolicySpec> = fc
  .tuple(fc.array(ruleSpec, { maxLength: 8 }), fc.array(limitSpec, { maxLength: 3 }))
  .map(([rules, limits]) => ({
    rules: rules.map((rule, index) => ({ id: `r${index}`, reason: `reason of r${index}`, ...rule })),
    limits: limits.map((rule, index) => ({ id: `l${index}`, reason: `reason of l${index}`, ...rule })),
  }));

/** Argument values that make conditions true, false, or fail (missing, wrong type, negative sums). */
const argValue = fc.oneof(
  fc.constantFrom(-5, 0, 50, 500, 'orders', 'payroll', true, false, null),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 2 }),
);

/** Earlier totals for limits: a fixed 0 to 3 per counter key, so limits are sometimes exceeded. */
const SOME_COUNTS: CounterView = {
  total: (key) => [...key].reduce((sum, char) => sum + char.charCodeAt(0), 0) % 4,
};

const callInput: fc.Arbitrary<DecisionInput> = fc
  .record({
    agentId: fc.constantFrom(...AGENTS, 'stranger'),
    roles: fc.subarray([...ROLES]),
    delegatedBy: fc.constantFrom<string[]>([], ['boss']),
    scopes: sometimes(fc.constantFrom<string[]>(['crm/*'], ['*'])),
    tool: fc.constantFrom(...CALL_TOOLS),
    args: fc.dictionary(fc.constantFrom('amount', 'table', 'note'), argValue, { maxKeys: 3 }),
    status: fc.oneof(
      { arbitrary: fc.constant<'active' | 'paused'>('active'), weight: 9 },
      { arbitrary: fc.constant<'active' | 'paused'>('paused'), weight: 1 },
    ),
  })
  .map((call) => ({
    call: {
      principal: {
        agentId: call.agentId,
        roles: call.roles,
        delegatedBy: call.delegatedBy,
        parentSessions: [],
        ...(call.scopes ? { scopes: call.scopes } : {}),
      },
      sessionId: 'session-1',
      tool: { ...call.tool },
      args: call.args,
      context: {},
    },
    session: { id: 'session-1', status: call.status, startedAt: T0, history: [], labels: [] },
    counters: SOME_COUNTS,
    now: T0,
  }));

// ---- compiling and reading decisions ----

function compile(spec: PolicySpec, options: { index?: boolean } = {}): PreparedPolicy {
  const document = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: generated }\n${CATALOGUE}\nrules: ${JSON.stringify(spec.rules)}\nlimits: ${JSON.stringify(spec.limits)}\n`;
  const result = compilePolicy([{ file: 'generated.yaml', text: document }], options);
  if (!result.ok)
    throw new Error(
      `the generator made an invalid policy:\n${result.problems.map(formatProblem).join('\n')}`,
    );
  return result.policy;
}

/** What does not depend on the order of the rules: the effect and the sets of rules and reasons. */
function orderFree(decision: Decision) {
  return {
    effect: decision.effect,
    matchedRules: [...decision.matchedRules].sort(),
    reasons: [...decision.reasons].sort(),
    diagnostics: decision.diagnostics.map((diagnostic) => diagnostic.ruleId ?? diagnostic.code).sort(),
  };
}

/** The effect that precedence gives for the rules a decision says matched. */
function effectByPrecedence(spec: PolicySpec, decision: Decision): Decision['effect'] {
  if (decision.diagnostics.length > 0) return 'deny';
  const effects = new Set(
    decision.matchedRules.map((id) => [...spec.rules, ...spec.limits].find((rule) => rule.id === id)?.effect),
  );
  if (effects.has('deny')) return 'deny';
  if (effects.has('approve')) return 'approve';
  return effects.has('allow') ? 'allow' : 'deny';
}

/** The policy's rules shuffled within each section (rules, limits); ids stay with their rules. */
const shuffled = (spec: PolicySpec): fc.Arbitrary<PolicySpec> =>
  fc
    .tuple(
      fc.shuffledSubarray(spec.rules, { minLength: spec.rules.length }),
      fc.shuffledSubarray(spec.limits, { minLength: spec.limits.length }),
    )
    .map(([rules, limits]) => ({ rules, limits }));

/** Every property runs with the same fixed seed and budget: the same inputs on every machine. */
function check<Ts extends [unknown, ...unknown[]]>(property: fc.IPropertyWithHooks<Ts>): void {
  fc.assert(property, { seed: SEED, numRuns: RUNS });
}

describe('the policy engine on random policies and calls', () => {
  it('(a) never throws, and decides in a well-formed, fail-closed way', () => {
    check(
      fc.property(policySpec, callInput, (spec, input) => {
        const policy = compile(spec);
        const decision = policy.evaluate(input);
        expect(['allow', 'deny', 'approve']).toContain(decision.effect);
        // the rules of the policy, or the built-in refusals (`reins.credential-scope`, `reins.session-*`)
        const ids = [...spec.rules, ...spec.limits].map((rule) => rule.id);
        for (const id of decision.matchedRules) if (!id.startsWith('reins.')) expect(ids).toContain(id);
        expect(decision.reasons.length).toBeGreaterThan(0);
        if (decision.diagnostics.length > 0) expect(decision.effect).toBe('deny');
        if (input.session.status !== 'active') expect(decision.effect).toBe('deny');
        if (input.call.tool.name === 'missing') expect(decision.diagnostics[0]?.code).toBe('unknown_tool');
      }),
    );
  });

  it('(b) deny wins: the effect follows from the matched rules, and an added matching deny denies', () => {
    check(
      fc.property(policySpec, callInput, (spec, input) => {
        const decision = compile(spec).evaluate(input);
        expect(decision.effect).toBe(effectByPrecedence(spec, decision));
        // a deny rule for this agent and tool, in front of or behind the others
        const { principal, tool } = input.call;
        const denyThis = {
          id: 'deny-this',
          effect: 'deny' as const,
          reason: 'denied on purpose',
          principal: { agents: [principal.agentId] },
          tool: { server: [tool.server], name: [tool.name] },
        };
        for (const rules of [
          [denyThis, ...spec.rules],
          [...spec.rules, denyThis],
        ]) {
          const denied = compile({ ...spec, rules }).evaluate(input);
          expect(denied.effect).toBe('deny');
          if (denied.diagnostics.length === 0) expect(denied.matchedRules).toContain('deny-this');
        }
      }),
    );
  });

  it('(c) decides exactly as checking every rule: the indexes change nothing', () => {
    check(
      fc.property(policySpec, fc.array(callInput, { minLength: 1, maxLength: 4 }), (spec, inputs) => {
        const indexed = compile(spec);
        const everyRule = compile(spec, { index: false });
        // several calls on one policy: the per-tool and per-agent plans are cached between them
        for (const input of inputs) expect(indexed.evaluate(input)).toEqual(everyRule.evaluate(input));
      }),
    );
  });

  it('(d) the order of the rules changes neither the effect nor the rules that matched', () => {
    check(
      fc.property(
        policySpec.chain((spec) => fc.tuple(fc.constant(spec), shuffled(spec))),
        callInput,
        ([spec, reordered], input) => {
          expect(orderFree(compile(reordered).evaluate(input))).toEqual(
            orderFree(compile(spec).evaluate(input)),
          );
        },
      ),
    );
  });
});

/** Drops the keys whose value is undefined (absent matchers, absent `when`), as a policy author would. */
function clean<T extends object>(value: T): T {
  const entries = Object.entries(value)
    .filter(([, field]) => field !== undefined)
    .map(([key, field]) => [key, isPlainObject(field) ? clean(field) : field]);
  return Object.fromEntries(entries.filter(([, field]) => !isEmptyObject(field))) as T;
}

function isPlainObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmptyObject(value: unknown): boolean {
  return isPlainObject(value) && Object.keys(value).length === 0;
}
