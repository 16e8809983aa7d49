/**
 * @module bench/decision-latency
 * Decision latency for policies of 10, 1,000 and 10,000 rules where a call matches a handful, next to
 * Cedar (cedar-wasm, preparsed policy set, statefulIsAuthorized) deciding the equivalent policy set in
 * the same process. Each decision is timed individually (median and p99).
 */
import assert from 'node:assert/strict';
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicy } from '../src/policy/compile-policy.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { WindowCounters } from '../src/policy/window-counters.js';
import type { DecisionInput } from '../src/spec/tool-call.js';
import { format, type Summary, timeEach } from './measure.js';

export const RULE_COUNTS = [10, 1_000, 10_000] as const;
const AGENTS = 50;

/**
 * N rules: N - 4 fillers (one per tool, spread over 50 agents, each with a condition) plus four on the
 * benchmark's tool: three allows (one per agent, one for anyone, one with a range) and a deny whose
 * condition is false. The call matches three rules and evaluates four conditions.
 */
function reinsPolicy(count: number): PreparedPolicy {
  const lines = [
    'apiVersion: reins.dev/v1',
    'kind: Policy',
    'metadata: { name: bench }',
    'tools:',
    '  - { server: "*", name: "*", risk: low, effects: [read] }',
    'rules:',
  ];
  for (let index = 0; index < count - 4; index++) {
    lines.push(
      `  - { id: rule-${index}, effect: allow, principal: { agents: agent-${index % AGENTS} }, tool: { name: tool-${index} }, when: "args.amount < 1000", reason: filler }`,
    );
  }
  lines.push(
    '  - { id: target-permit-amount, effect: allow, principal: { agents: agent-1 }, tool: { name: tool-target }, when: "args.amount < 1000", reason: small amounts }',
    '  - { id: target-permit-anyone, effect: allow, tool: { name: tool-target }, when: "args.amount >= 0", reason: non-negative }',
    '  - { id: target-permit-range, effect: allow, principal: { agents: agent-1 }, tool: { name: tool-target }, when: "args.amount > 10 && args.amount <= 100", reason: range }',
    '  - { id: target-forbid-large, effect: deny, tool: { name: tool-target }, when: "args.amount > 5000", reason: too large }',
  );
  const compiled = compilePolicy([{ file: `bench-${count}.yaml`, text: lines.join('\n') }]);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems.slice(0, 3)));
  return compiled.policy;
}

function cedarPolicies(count: number): Record<string, string> {
  const policies: Record<string, string> = {};
  for (let index = 0; index < count - 4; index++) {
    policies[`rule-${index}`] =
      `permit(principal == Agent::"agent-${index % AGENTS}", action == Action::"tool-${index}", resource) when { context.amount < 1000 };`;
  }
  policies['target-permit-amount'] =
    'permit(principal == Agent::"agent-1", action == Action::"tool-target", resource) when { context.amount < 1000 };';
  policies['target-permit-anyone'] =
    'permit(principal, action == Action::"tool-target", resource) when { context.amount >= 0 };';
  policies['target-permit-range'] =
    'permit(principal == Agent::"agent-1", action == Action::"tool-target", resource) when { context.amount > 10 && context.amount <= 100 };';
  policies['target-forbid-large'] =
    'forbid(principal, action == Action::"tool-target", resource) when { context.amount > 5000 };';
  return policies;
}

export interface DecisionLatencyRow {
  readonly rules: number;
  readonly reins: Summary;
  readonly cedar: Summary;
}

export function benchmarkDecisions(iterations: number): DecisionLatencyRow[] {
  const rows: DecisionLatencyRow[] = [];
  const input: DecisionInput = {
    call: {
      principal: { agentId: 'agent-1', roles: [], delegatedBy: [], parentSessions: [] },
      sessionId: 'bench',
      tool: { server: 'bench', name: 'tool-target' },
      args: { amount: 50 },
      context: {},
    },
    session: { id: 'bench', status: 'active', startedAt: Date.now(), history: [], labels: [] },
    counters: new WindowCounters(),
    now: Date.now(),
  };
  for (const count of RULE_COUNTS) {
    const policy = reinsPolicy(count);
    const decision = policy.evaluate(input);
    assert.equal(decision.effect, 'allow');
    assert.deepEqual(decision.matchedRules, [
      'target-permit-amount',
      'target-permit-anyone',
      'target-permit-range',
    ]);

    const setId = `bench-${count}`;
    const parsed = preparsePolicySet(setId, { staticPolicies: cedarPolicies(count) });
    assert.equal(parsed.type, 'success', JSON.stringify(parsed));
    const request = {
      principal: { type: 'Agent', id: 'agent-1' },
      action: { type: 'Action', id: 'tool-target' },
      resource: { type: 'Tool', id: 'tool-target' },
      context: { amount: 50 },
      preparsedPolicySetId: setId,
      entities: [],
    };
    const answer = statefulIsAuthorized(request);
    assert.ok(answer.type === 'success' && answer.response.decision === 'allow', JSON.stringify(answer));
    assert.equal(answer.response.diagnostics.reason.length, 3);

    const reins = timeEach(() => {
      if (policy.evaluate(input).effect !== 'allow') throw new Error('reins decision changed');
    }, iterations);
    const cedar = timeEach(
      () => {
        const result = statefulIsAuthorized(request);
        if (result.type !== 'success' || result.response.decision !== 'allow')
          throw new Error('cedar decision changed');
      },
      // Cedar's cost grows with the policy count (about 2 µs per policy): fewer samples for big sets.
      Math.max(200, Math.min(iterations, Math.floor(2_000_000 / count))),
    );
    rows.push({ rules: count, reins, cedar });
  }
  return rows;
}

export function printDecisionRows(rows: readonly DecisionLatencyRow[], write: (line: string) => void): void {
  write(
    '| rules | Reins median µs | Reins p99 µs | Reins samples | Cedar median µs | Cedar p99 µs | Cedar samples | Cedar / Reins (median) |',
  );
  write('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    write(
      `| ${row.rules} | ${format(row.reins.medianUs)} | ${format(row.reins.p99Us)} | ${row.reins.samples} | ${format(row.cedar.medianUs)} | ${format(row.cedar.p99Us)} | ${row.cedar.samples} | ${format(row.cedar.medianUs / row.reins.medianUs, 1)}x |`,
    );
  }
  const first = rows[0];
  const last = rows.at(-1);
  if (first && last) {
    write('');
    write(
      `${last.rules}-rule median / ${first.rules}-rule median (Reins): ${format(last.reins.medianUs / first.reins.medianUs)}x`,
    );
  }
}
