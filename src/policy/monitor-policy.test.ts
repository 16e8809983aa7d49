/**
 * @module policy/monitor-policy.test
 * Loading a policy's `monitor:` section: each rule is checked against its signal, a policy set has one
 * section, monitor rule ids share the namespace of rule ids, and every problem names its file and line.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile-policy.js';
import { formatProblem } from './policy-problem.js';

const HEADER = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: test }
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
rules:
  - { id: reads, effect: allow, reason: reads are fine }
`;
// the monitor's first rule is on line 11
const MONITOR = `${HEADER}monitor:\n  baseline: { window: 7d, minCalls: 20 }\n  rules:\n`;

function problemsOf(...texts: string[]): string[] {
  const result = compilePolicy(texts.map((text, index) => ({ file: `p${index + 1}.yaml`, text })));
  if (result.ok) return [];
  return result.problems.map(formatProblem);
}

function ruleProblems(rule: string): string[] {
  return problemsOf(`${MONITOR}    - ${rule}\n`);
}

describe('a monitor rule', () => {
  it('compiles when it is well formed, with the defaults filled in', () => {
    const result = compilePolicy([
      {
        file: 'p1.yaml',
        text: `${MONITOR}    - { id: burst, signal: rate, window: 1m, above: 5, reason: a burst }\n    - { id: night, signal: off-hours, below: 0.05, action: hold, reason: night }\n`,
      },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const monitor = result.policy.monitor;
    expect(monitor?.minCalls).toBe(20);
    expect(monitor?.baselineWindowMs).toBe(7 * 86_400_000);
    expect(monitor?.rules.map((rule) => [rule.id, rule.action, rule.windowMs, rule.below])).toEqual([
      ['burst', 'alert', 60_000, undefined],
      ['night', 'hold', undefined, 0.05],
    ]);
  });

  it.each(['rate', 'denials', 'output-volume'])('of the windowed signal %s needs a window', (signal) => {
    expect(ruleProblems(`{ id: w, signal: ${signal}, above: 5, reason: r }`)).toEqual([
      expect.stringMatching(new RegExp(`^p1\\.yaml:11:\\d+: .*signal \`${signal}\` needs a \`window\``)),
    ]);
  });

  it('of a windowed signal needs a bound to exceed: above, factor or both', () => {
    expect(ruleProblems('{ id: w, signal: rate, window: 1m, reason: r }')).toEqual([
      expect.stringMatching(/^p1\.yaml:11:\d+: .*signal `rate` needs `above`, `factor` or both/),
    ]);
    expect(ruleProblems('{ id: w, signal: rate, window: 1m, factor: 3, reason: r }')).toEqual([]);
  });

  it.each([['window: 1m'], ['above: 3'], ['factor: 2']])('of a one-call signal refuses %s', (field) => {
    expect(ruleProblems(`{ id: n, signal: new-tool, ${field}, reason: r }`)).toEqual([
      expect.stringMatching(/^p1\.yaml:11:\d+: .*signal `new-tool` compares one call with the baseline/),
    ]);
  });

  it('of off-hours takes `below` as a share, 0 to 1', () => {
    expect(ruleProblems('{ id: n, signal: off-hours, below: 1.5, reason: r }')).toEqual([
      expect.stringMatching(/^p1\.yaml:11:\d+: .*`below` of `off-hours` is a share of calls, 0 to 1/),
    ]);
    expect(ruleProblems('{ id: n, signal: off-hours, below: 1, reason: r }')).toEqual([]);
    // a transition's `below` is a count
    expect(ruleProblems('{ id: n, signal: transition, below: 5, reason: r }')).toEqual([]);
  });

  it('of a windowed signal refuses `below`', () => {
    expect(ruleProblems('{ id: w, signal: rate, window: 1m, above: 1, below: 1, reason: r }')).toEqual([
      expect.stringMatching(/^p1\.yaml:11:\d+: .*`below` does not apply to signal `rate`/),
    ]);
  });

  it('refuses an unknown signal, action or field', () => {
    expect(ruleProblems('{ id: w, signal: volume, window: 1m, above: 1, reason: r }')).toHaveLength(1);
    expect(
      ruleProblems('{ id: w, signal: rate, window: 1m, above: 1, action: kill, reason: r }'),
    ).toHaveLength(1);
    expect(
      ruleProblems('{ id: w, signal: rate, window: 1m, above: 1, treshold: 2, reason: r }'),
    ).toHaveLength(1);
  });
});

describe('the monitor section in a policy set', () => {
  it('is set by one document: a second names the first', () => {
    const first = `${MONITOR}    - { id: burst, signal: rate, window: 1m, above: 5, reason: r }\n`;
    const second = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: other }\nmonitor:\n  rules:\n    - { id: other-burst, signal: rate, window: 1m, above: 5, reason: r }\n`;
    // each located at the section's body, the line after `monitor:`
    expect(problemsOf(first, second)).toEqual([
      expect.stringMatching(/^p2\.yaml:5:\d+: `monitor` is already set at p1\.yaml:9: a policy set has one$/),
    ]);
  });

  it('shares rule ids with the rules, in one document or across documents', () => {
    expect(
      problemsOf(`${MONITOR}    - { id: reads, signal: rate, window: 1m, above: 5, reason: r }\n`),
    ).toEqual([expect.stringMatching(/^p1\.yaml:11:\d+: rule id `reads` is already used at p1\.yaml:7$/)]);
    const rules = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: more }\nrules:\n  - { id: burst, effect: deny, reason: r }\n`;
    expect(
      problemsOf(`${MONITOR}    - { id: burst, signal: rate, window: 1m, above: 5, reason: r }\n`, rules),
    ).toEqual([expect.stringMatching(/^p2\.yaml:5:\d+: rule id `burst` is already used at p1\.yaml:11$/)]);
    expect(
      problemsOf(
        `${MONITOR}    - { id: burst, signal: rate, window: 1m, above: 5, reason: r }\n    - { id: burst, signal: new-tool, reason: r }\n`,
      ),
    ).toEqual([expect.stringMatching(/^p1\.yaml:12:\d+: rule id `burst` is already used at p1\.yaml:11$/)]);
  });
});
