/**
 * @module inspect/compliance-grants.test
 * The least-privilege review on its own: the recommended document is built as data (names the log or an
 * upstream chose never become YAML or a pattern), and a policy that cannot be evaluated for a tool is a
 * finding, not "no unused grant". The end-to-end proof (the recommendation against recorded traffic) is
 * test/cli-compliance.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AgentNarrowing } from '../spec/compliance.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import { literalName, recommendationPolicy, reviewGrants } from './compliance-grants.js';
import type { AgentUsage } from './compliance-usage.js';

function narrowing(agentId: string, unusedTools: string[]): AgentNarrowing {
  return {
    agentId,
    unusedTools,
    unusedScopes: [],
    nextScopes: ['crm/db.select'],
    notExpressible: [],
    olderCallsAffected: 0,
    olderCallsTruncated: false,
  };
}

describe('recommendationPolicy', () => {
  it('writes names as data: no injected YAML, no glob principal, nothing from names in comments', () => {
    const text = recommendationPolicy(
      [
        narrowing('plain', ['crm/db.export', 'crm/db.*', 'crm/x\nrules: []']),
        narrowing('*', ['crm/db.export']),
        narrowing('evil"]}\n  - { id: x, effect: allow }\n#', ['crm/db.export']),
        narrowing('b[0]', ['crm/db.export']),
      ],
      '2026-01-02T00:00:00.000Z',
      '2025-12-03T00:00:00.000Z',
    );
    const document = parse(text ?? '') as {
      rules: { principal: { agents: string[] }; tool: ToolRef; effect: string }[];
    };
    expect(document.rules).toEqual([
      expect.objectContaining({
        principal: { agents: ['plain'] },
        tool: { server: 'crm', name: 'db.export' },
        effect: 'deny',
      }),
    ]);
    for (const line of (text ?? '').split('\n').filter((entry) => entry.startsWith('#')))
      expect(line).not.toMatch(/plain|evil|reins agents token/);
  });

  it('writes nothing when no rule can be expressed', () => {
    expect(recommendationPolicy([narrowing('*', ['crm/db.export'])], 'a', 'b')).toBeUndefined();
  });

  it('refuses glob, bracket, brace and control characters', () => {
    for (const name of ['a*', 'a?', 'a[b]', 'a{b}', 'a\nb', 'a\u0000b', 'a\u007fb', ''])
      expect(literalName(name)).toBe(false);
    expect(literalName('crm/db.export-2')).toBe(true);
  });
});

describe('reviewGrants', () => {
  const principal: Principal = {
    agentId: 'analyst',
    roles: [],
    delegatedBy: [],
    parentSessions: [],
  } as unknown as Principal;
  const usage = new Map<string, AgentUsage>([
    [
      'analyst',
      {
        agentId: 'analyst',
        principal,
        calls: 1,
        exercised: new Map([['crm/db.select', '2026-01-01T00:00:00.000Z']]),
        ownerSeen: true,
        firstSeq: 1,
        lastSeq: 1,
      },
    ],
  ]);
  // a fake: the tool `crm/broken` cannot be planned (what a throwing catalogue or rule does)
  const policy = {
    toolFacts: (tool: ToolRef) => {
      if (tool.name === 'broken') throw new Error('the condition of rule r1 cannot be compiled');
      return { risk: 'low', effects: ['read'] };
    },
    mayAllow: () => true,
  } as unknown as PreparedPolicy;

  it('reports a tool the policy cannot be evaluated for, instead of no unused grant', () => {
    const tools = ['db.select', 'broken', 'db.export'].map((name) => ({ server: 'crm', name }));
    const review = reviewGrants(policy, [], usage, tools, 30);
    expect(review.narrowings[0]?.unusedTools).toEqual(['crm/db.export']);
    expect(review.findings.map((finding) => `${finding.code} ${finding.subject}`)).toEqual([
      'grant.unused agent:analyst',
      'grant.unchecked tool:crm/broken',
    ]);
    expect(review.findings[1]?.evidence).toEqual(['the condition of rule r1 cannot be compiled']);
  });
});
