/**
 * @module test/support/policy-fixtures
 * Helpers for tests: compile a policy from inline YAML (failing the test on problems) and build
 * decision inputs with sensible defaults.
 */
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { formatProblem } from '../../src/policy/policy-problem.js';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { WindowCounters } from '../../src/policy/window-counters.js';
import type {
  CounterView,
  DecisionInput,
  HistoryEntry,
  SessionView,
  ToolCall,
} from '../../src/spec/tool-call.js';

export const T0 = Date.parse('2026-01-01T09:00:00Z');

/** A catalogue shared by most tests. */
export const CATALOGUE = `
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
  - { server: crm, name: "db.execute", risk: high, effects: [write] }
  - { server: pay, name: "payments.send", risk: critical, effects: [external, irreversible] }
  - { server: pay, name: "payments.lookup", risk: low, effects: [read] }
  - { server: web, name: "*", risk: medium, effects: [read], untrustedOutput: true }
`;

export function policyFrom(
  body: string,
  options: { catalogue?: string; name?: string } = {},
): PreparedPolicy {
  const text = `apiVersion: reins.dev/v1\nkind: Policy\nmetadata: { name: ${options.name ?? 'test'} }\n${options.catalogue ?? CATALOGUE}\n${body}`;
  const result = compilePolicy([{ file: 'inline.yaml', text }]);
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.policy;
}

export interface InputOverrides {
  agentId?: string;
  roles?: string[];
  owner?: string;
  delegatedBy?: string[];
  server?: string;
  tool?: string;
  args?: Record<string, unknown>;
  context?: Record<string, unknown>;
  sessionId?: string;
  history?: HistoryEntry[];
  status?: SessionView['status'];
  labels?: string[];
  counters?: CounterView;
  now?: number;
}

export function call(overrides: InputOverrides = {}): ToolCall {
  const principal: ToolCall['principal'] = {
    agentId: overrides.agentId ?? 'agent-a',
    roles: overrides.roles ?? [],
    delegatedBy: overrides.delegatedBy ?? [],
    parentSessions: [],
  };
  if (overrides.owner !== undefined) principal.owner = overrides.owner;
  return {
    principal,
    sessionId: overrides.sessionId ?? 'session-1',
    tool: { server: overrides.server ?? 'crm', name: overrides.tool ?? 'db.select' },
    args: overrides.args ?? {},
    context: overrides.context ?? {},
  };
}

export function input(overrides: InputOverrides = {}): DecisionInput {
  return {
    call: call(overrides),
    session: {
      id: overrides.sessionId ?? 'session-1',
      status: overrides.status ?? 'active',
      startedAt: T0,
      history: overrides.history ?? [],
      labels: overrides.labels ?? [],
    },
    counters: overrides.counters ?? new WindowCounters(),
    now: overrides.now ?? T0,
  };
}
