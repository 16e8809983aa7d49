/**
 * @module test/support/audit-fixtures
 * Builds valid audit events for store and verification tests.
 */
import type { AuditEventV1 } from '../../src/spec/audit-event.js';

export function intentEvent(
  index: number,
  overrides: { sessionId?: string; agentId?: string } = {},
): AuditEventV1 {
  return {
    v: 1,
    id: `d${index}/intent`,
    kind: 'call-intent',
    time: new Date(Date.UTC(2026, 0, 1, 9, 0, 0, index)).toISOString(),
    decisionId: `d${index}`,
    sessionId: overrides.sessionId ?? 'session-1',
    principal: { agentId: overrides.agentId ?? 'agent-a', roles: [], delegatedBy: [] },
    tool: { server: 'crm', name: 'db.select' },
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
