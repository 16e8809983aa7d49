/**
 * @module test/support/audit-fixtures
 * Builds valid audit events for store and verification tests. Event `index` gets a time `index` ms
 * after 2026-01-01T09:00:00Z, so time-range queries are predictable.
 */
import type { AuditEventV1, Outcome } from '../../src/spec/audit-event.js';

interface EventOverrides {
  sessionId?: string;
  agentId?: string;
}

function base(index: number, overrides: EventOverrides) {
  return {
    v: 1 as const,
    time: new Date(Date.UTC(2026, 0, 1, 9, 0, 0, index)).toISOString(),
    decisionId: `d${index}`,
    sessionId: overrides.sessionId ?? 'session-1',
    principal: { agentId: overrides.agentId ?? 'agent-a', roles: [], delegatedBy: [], parentSessions: [] },
    tool: { server: 'crm', name: 'db.select' },
  };
}

export function intentEvent(index: number, overrides: EventOverrides = {}): AuditEventV1 {
  return {
    ...base(index, overrides),
    id: `d${index}/intent`,
    kind: 'call-intent',
    links: [],
    args: { table: 'customers', row: index },
    decision: {
      effect: 'allow',
      matchedRules: ['reads'],
      reasons: ['reads are fine'],
      policyHash: 'sha256:00',
      diagnostics: [],
    },
    decisionLatencyUs: 3,
  };
}

export function outcomeEvent(index: number, outcome: Outcome, overrides: EventOverrides = {}): AuditEventV1 {
  return {
    ...base(index, overrides),
    id: `d${index}/outcome`,
    kind: 'call-outcome',
    links: [{ rel: 'intent', id: `d${index}/intent` }],
    outcome,
    latencyUs: 40,
  };
}
