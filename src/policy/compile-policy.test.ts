/**
 * @module policy/compile-policy.test
 * Loading policies: every kind of problem is reported with the location a person needs to fix it.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile-policy.js';
import { formatProblem } from './policy-problem.js';

const HEADER = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: test }
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
`;

function problemsOf(text: string): string[] {
  const result = compilePolicy([{ file: 'p.yaml', text }]);
  if (result.ok) return [];
  return result.problems.map(formatProblem);
}

describe('compilePolicy', () => {
  it('accepts a valid policy and hashes its content', () => {
    const text = `${HEADER}rules:\n  - { id: a, effect: allow, reason: ok }\n`;
    const first = compilePolicy([{ file: 'one.yaml', text }]);
    const second = compilePolicy([{ file: 'elsewhere.yaml', text }]);
    const changed = compilePolicy([{ file: 'one.yaml', text: `${text}\n# a comment\n` }]);
    expect(first.ok && second.ok && changed.ok).toBe(true);
    if (!first.ok || !second.ok || !changed.ok) return;
    expect(first.policy.hash).toBe(second.policy.hash);
    expect(first.policy.hash).not.toBe(changed.policy.hash);
    expect(first.policy.summary).toEqual({ documents: 1, rules: 1, shadowRules: 0, tools: 1 });
  });

  it('reports a CEL type error at the line and column of the condition', () => {
    const text = `${HEADER}rules:
  - id: typed
    effect: allow
    when: 'args.table.size() + "x" > 1'
    reason: broken
`;
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^p\.yaml:9:12: `rules\.0\.when`: no such overload: int \+ string/),
    ]);
  });

  it('reports a condition that is not boolean, an unknown variable and a syntax error', () => {
    const text = `${HEADER}rules:
  - { id: a, effect: allow, when: '1 + 2', reason: r }
  - { id: b, effect: allow, when: 'user.admin', reason: r }
  - { id: c, effect: allow, when: 'args.x ==', reason: r }
`;
    const problems = problemsOf(text);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^p\.yaml:7:\d+: .*expression has type `int`, expected a bool/);
    expect(problems[1]).toMatch(/^p\.yaml:8:\d+: .*Unknown variable: user/);
    expect(problems[2]).toMatch(/^p\.yaml:9:\d+: /);
  });

  it('reports an unknown field at the field', () => {
    const text = `${HEADER}rules:
  - id: a
    effect: allow
    reason: ok
    efect: deny
`;
    expect(problemsOf(text)).toEqual(['p.yaml:10:5: unknown field `efect` in `rules.0`']);
  });

  it('reports a YAML syntax error at its position', () => {
    const text = `${HEADER}rules:\n  - { id: a, effect: allow\n`;
    const problems = problemsOf(text);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^p\.yaml:\d+:\d+: yaml syntax error: /);
  });

  it('reports wrong values, versions and missing fields by path', () => {
    expect(problemsOf(HEADER.replace('reins.dev/v1', 'reins.dev/v0'))[0]).toMatch(
      /^p\.yaml:1:\d+: .*unsupported apiVersion/,
    );
    expect(problemsOf(`${HEADER}rules:\n  - { id: a, effect: maybe, reason: r }\n`)[0]).toMatch(
      /^p\.yaml:7:\d+: `rules\.0\.effect`/,
    );
    expect(problemsOf(`${HEADER}rules:\n  - { id: a, effect: allow }\n`)[0]).toMatch(
      /^p\.yaml:7:\d+: `rules\.0\.reason`/,
    );
    expect(
      problemsOf(`${HEADER}limits:\n  - { id: l, window: 1 fortnight, max: 1, reason: r }\n`)[0],
    ).toMatch(/invalid duration `1 fortnight`/);
  });

  it('requires exactly one of requires/forbids in a sequence rule', () => {
    const text = `${HEADER}sequences:\n  - { id: s, reason: r }\n`;
    expect(problemsOf(text)[0]).toMatch(/exactly one of `requires` or `forbids`/);
  });

  it('rejects duplicate rule ids and catalogue entries, across documents too', () => {
    const one = `${HEADER}rules:\n  - { id: same, effect: allow, reason: r }\n`;
    const two = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: two }
tools:
  - { server: crm, name: "db.select", risk: high, effects: [read] }
limits:
  - { id: same, window: 1h, max: 1, reason: r }
`;
    const result = compilePolicy([
      { file: 'one.yaml', text: one },
      { file: 'two.yaml', text: two },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const messages = result.problems.map(formatProblem);
    expect(messages).toContainEqual(
      expect.stringMatching(/^two\.yaml:5:\d+: tool `crm\/db\.select` is already declared at one\.yaml:5/),
    );
    expect(messages).toContainEqual(
      expect.stringMatching(/^two\.yaml:7:\d+: rule id `same` is already used at one\.yaml:7/),
    );
  });

  it('requires a numeric amount for running totals', () => {
    const text = `${HEADER}limits:\n  - { id: l, window: 1h, max: 1, sum: 'args.currency == "EUR"', reason: r }\n`;
    expect(problemsOf(text)[0]).toMatch(/expected a number/);
  });

  it('reports an empty policy set', () => {
    const result = compilePolicy([]);
    expect(result.ok).toBe(false);
  });
});
