/**
 * @module test/support/monitor-fixtures
 * Pure inputs for the runtime monitor's unit tests: a compiled `monitor:` section from inline YAML,
 * activity entries, baselines, decisions, and the audit records (intents, outcomes, operator actions)
 * the activity trail and the baseline learner read.
 */
import type { CompiledMonitor } from '../../src/policy/monitor.js';
import type { ActivityEntry } from '../../src/policy/monitor-activity.js';
import type { CallIntentEvent, CallOutcomeEvent, OperatorActionEvent } from '../../src/spec/audit-event.js';
import type { Decision, Obligation } from '../../src/spec/decision.js';
import type { AgentBaseline, MonitorFinding } from '../../src/spec/monitor.js';
import type { ToolRef } from '../../src/spec/tool-call.js';
import { policyFrom, T0 } from './policy-fixtures.js';

export { T0 };

/**
 * The compiled monitor of a policy whose rules allow everything and whose `monitor:` section has
 * `rules` (YAML list items, indented four spaces) and a baseline of `minCalls` (default 50).
 */
export function monitorFrom(rules: string, options: { minCalls?: number } = {}): CompiledMonitor {
  const policy = policyFrom(
    `rules:\n  - { id: everything, effect: allow, reason: all allowed }\nmonitor:\n  baseline: { window: 7d, minCalls: ${options.minCalls ?? 50} }\n  rules:\n${rules}`,
  );
  if (policy.monitor === undefined) throw new Error('the policy has no monitor');
  return policy.monitor;
}

/** `crm/db.select` → `{ server: 'crm', name: 'db.select' }`. */
export function toolOf(key: string): ToolRef {
  const slash = key.indexOf('/');
  return { server: key.slice(0, slash), name: key.slice(slash + 1) };
}

export interface EntryOptions {
  tool?: string;
  denied?: boolean;
  outputChars?: number;
  raised?: string[];
}

/** One earlier call of the session, decided at `at` (epoch ms). */
export function entry(decisionId: string, at: number, options: EntryOptions = {}): ActivityEntry {
  const key = options.tool ?? 'crm/db.select';
  return {
    decisionId,
    tool: toolOf(key),
    key,
    at,
    denied: options.denied ?? false,
    outputChars: options.outputChars ?? 0,
    ...(options.raised !== undefined ? { raised: options.raised } : {}),
  };
}

/** 24 hourly counts: `calls` at `hour`, none elsewhere. */
export function hoursAt(hour: number, calls: number): number[] {
  const hours = new Array<number>(24).fill(0);
  hours[hour] = calls;
  return hours;
}

/** A baseline of `agent-a`: 100 calls of `crm/db.select`, all at 09:00 UTC, unless overridden. */
export function baseline(overrides: Partial<AgentBaseline> = {}): AgentBaseline {
  return {
    agentId: 'agent-a',
    from: '2025-12-25T00:00:00.000Z',
    to: '2026-01-01T00:00:00.000Z',
    calls: 100,
    sessions: 4,
    peaks: {},
    tools: { 'crm/db.select': 100 },
    transitions: { 'crm/db.select -> crm/db.select': 96 },
    hours: hoursAt(9, 100),
    ...overrides,
  };
}

export const COUNT: Obligation = { kind: 'count', key: 'limit:reads', amount: 1, ruleId: 'reads' };

/** What the rules decided before the monitor judges (an allow with a counter reservation by default). */
export function decided(effect: Decision['effect'] = 'allow', obligations: Obligation[] = [COUNT]): Decision {
  return {
    effect,
    matchedRules: ['everything'],
    reasons: ['all allowed'],
    decidedBy: ['everything'],
    obligations,
    policyHash: 'sha256:00',
    diagnostics: [],
  };
}

export interface RecordOptions {
  sessionId?: string;
  agentId?: string;
  tool?: string;
  effect?: Decision['effect'];
  monitor?: MonitorFinding[];
}

function callFields(decisionId: string, at: number, options: RecordOptions) {
  return {
    v: 1 as const,
    time: new Date(at).toISOString(),
    decisionId,
    sessionId: options.sessionId ?? 'session-1',
    principal: {
      agentId: options.agentId ?? 'agent-a',
      roles: [],
      delegatedBy: [],
      parentSessions: [],
    },
    tool: toolOf(options.tool ?? 'crm/db.select'),
    links: [],
  };
}

/** The intent record of a call decided at `at`. */
export function intentRecord(decisionId: string, at: number, options: RecordOptions = {}): CallIntentEvent {
  return {
    ...callFields(decisionId, at, options),
    id: `${decisionId}/intent`,
    kind: 'call-intent',
    args: {},
    decision: {
      effect: options.effect ?? 'allow',
      matchedRules: ['everything'],
      reasons: ['all allowed'],
      policyHash: 'sha256:00',
      diagnostics: [],
    },
    decisionLatencyUs: 3,
    ...(options.monitor !== undefined ? { monitor: options.monitor } : {}),
  };
}

/** The outcome record of a call, ending at `at`. */
export function outcomeRecord(
  decisionId: string,
  at: number,
  outcome: CallOutcomeEvent['outcome'],
  result?: unknown,
  options: RecordOptions = {},
): CallOutcomeEvent {
  return {
    ...callFields(decisionId, at, options),
    id: `${decisionId}/outcome`,
    kind: 'call-outcome',
    links: [{ rel: 'intent', id: `${decisionId}/intent` }],
    outcome,
    ...(result !== undefined ? { result } : {}),
    latencyUs: 40,
  };
}

/** An operator's action on a session (`session.resume`, `session.pause`, ...). */
export function operatorAction(action: string, sessionId = 'session-1', at = T0): OperatorActionEvent {
  return {
    v: 1,
    id: `op-${action}-${at}`,
    time: new Date(at).toISOString(),
    kind: 'operator-action',
    decisionId: `op-${action}-${at}`,
    actor: { id: 'alice', roles: ['admin'] },
    action,
    target: { type: 'session', id: sessionId },
    reason: 'checked',
    sessionId,
    agentId: 'agent-a',
  };
}

/** A finding as a monitor rule records it with an intent. */
export function finding(
  rule: string,
  action: MonitorFinding['action'],
  message = `${rule} fired`,
): MonitorFinding {
  return {
    rule,
    signal: 'rate',
    action,
    observed: 3,
    threshold: 2,
    windowMs: 60_000,
    records: [],
    message,
  };
}
