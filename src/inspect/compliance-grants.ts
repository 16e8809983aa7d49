/**
 * @module inspect/compliance-grants
 * Least privilege from observed use: for each agent, the tools the policy (and its mission scopes) lets
 * it call that it did not call in the window, and the recommendation that narrows it to what it used —
 * a policy document of `deny` rules (explicit deny wins) to add beside the policy in force, and the
 * scopes for its next credential. The rules name only tools it did not exercise in the window, so the
 * recommended policy decides every call of the window as before: `reins policy diff` shows it.
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AgentNarrowing, ComplianceFinding } from '../spec/compliance.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import { POLICY_API_VERSION } from '../spec/policy-document.js';
import { covers } from '../spec/scopes.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { AgentUsage } from './compliance-usage.js';

/** The name of the recommended policy document (and of its file under a `--recommend` directory). */
export const RECOMMENDATION_NAME = 'compliance-least-privilege';

export interface GrantReview {
  readonly findings: ComplianceFinding[];
  readonly narrowings: AgentNarrowing[];
}

/** An agent whose grants are reviewed: its record when registered, else how it acted. */
interface Subject {
  readonly agentId: string;
  readonly principal: Principal;
  readonly scopes: readonly string[] | undefined;
  readonly usage: AgentUsage | undefined;
}

/** Grants never exercised in the window, per agent (dormant agents are reported on their own, not here). */
export function reviewGrants(
  policy: PreparedPolicy,
  agents: readonly AgentRecordV1[],
  usage: ReadonlyMap<string, AgentUsage>,
  tools: readonly ToolRef[],
  windowDays: number,
): GrantReview {
  const findings: ComplianceFinding[] = [];
  const narrowings: AgentNarrowing[] = [];
  for (const subject of subjectsOf(agents, usage)) {
    const exercised = subject.usage?.exercised ?? new Map<string, string>();
    if (exercised.size === 0) continue; // never acted in the window: agent.dormant, or too new to judge
    const unusedTools = tools
      .map(toolName)
      .filter((tool) => !exercised.has(tool) && policy.mayAllow(subject.principal, refOf(tool)));
    const unusedScopes = (subject.scopes ?? []).filter(
      (scope) => ![...exercised.keys()].some((tool) => covers(scope, tool)),
    );
    if (unusedTools.length === 0 && unusedScopes.length === 0) continue;
    const nextScopes = [...exercised.keys()]
      .filter((tool) => subject.scopes === undefined || subject.scopes.some((scope) => covers(scope, tool)))
      .sort();
    narrowings.push({
      agentId: subject.agentId,
      unusedTools,
      unusedScopes,
      nextScopes,
      olderCallsAffected: 0,
    });
    findings.push(grantFinding(subject, unusedTools, unusedScopes, nextScopes, windowDays));
  }
  return { findings, narrowings };
}

function subjectsOf(agents: readonly AgentRecordV1[], usage: ReadonlyMap<string, AgentUsage>): Subject[] {
  const subjects: Subject[] = [];
  const registered = new Set<string>();
  for (const agent of agents) {
    registered.add(agent.id);
    if (agent.state !== 'active') continue;
    const principal: Principal = {
      agentId: agent.id,
      roles: agent.roles,
      owner: agent.owner,
      delegatedBy: [],
      parentSessions: [],
      scopes: agent.scopes,
    };
    subjects.push({ agentId: agent.id, principal, scopes: agent.scopes, usage: usage.get(agent.id) });
  }
  // agents that act without a registered identity (in-process callers): judged as they acted
  for (const entry of usage.values()) {
    if (registered.has(entry.agentId)) continue;
    subjects.push({
      agentId: entry.agentId,
      principal: entry.principal,
      scopes: entry.principal.scopes,
      usage: entry,
    });
  }
  return subjects.sort((left, right) => left.agentId.localeCompare(right.agentId));
}

function grantFinding(
  subject: Subject,
  unusedTools: readonly string[],
  unusedScopes: readonly string[],
  nextScopes: readonly string[],
  windowDays: number,
): ComplianceFinding {
  const parts = [
    ...(unusedTools.length > 0 ? [`${unusedTools.length} tool(s) the policy allows it`] : []),
    ...(unusedScopes.length > 0 ? [`${unusedScopes.length} scope(s) of its mission`] : []),
  ];
  const used = subject.usage;
  return {
    code: 'grant.unused',
    severity: 'medium',
    subject: `agent:${subject.agentId}`,
    message: `agent \`${subject.agentId}\` has not exercised ${parts.join(' and ')} in ${windowDays} days`,
    evidence: [
      `exercised in the window: ${nextScopes.join(', ') || 'nothing'} (${used?.calls ?? 0} call records, seq ${used?.firstSeq}..${used?.lastSeq})`,
      ...(unusedTools.length > 0 ? [`allowed and not called: ${unusedTools.join(', ')}`] : []),
      ...(unusedScopes.length > 0 ? [`scopes covering no call: ${unusedScopes.join(', ')}`] : []),
    ],
    fix:
      unusedTools.length > 0
        ? `add the recommended policy (\`reins compliance scan --recommend <dir>\`), check it with \`reins policy diff --base <policy> --candidate <policy + recommendation>\`, then issue its credentials with \`--scopes ${nextScopes.join(',')}\``
        : `issue its credentials with \`reins agents token ${subject.agentId} --scopes ${nextScopes.join(',')}\` and narrow its mission when it is next registered`,
  };
}

/** The recommended policy document (YAML), or undefined when no agent has a tool to deny. */
export function recommendationPolicy(
  narrowings: readonly AgentNarrowing[],
  at: string,
  windowStart: string,
): string | undefined {
  const rules: string[] = [];
  for (const narrowing of narrowings) {
    narrowing.unusedTools.forEach((tool, index) => {
      const { server, name } = refOf(tool);
      rules.push(
        [
          `  - id: ${JSON.stringify(`least-privilege.${narrowing.agentId}.${index + 1}`)}`,
          `    principal: { agents: [${JSON.stringify(narrowing.agentId)}] }`,
          `    tool: { server: ${JSON.stringify(server)}, name: ${JSON.stringify(name)} }`,
          '    effect: deny',
          `    reason: ${JSON.stringify(`least privilege: ${narrowing.agentId} did not call ${tool} between ${windowStart} and ${at}`)}`,
        ].join('\n'),
      );
    });
  }
  if (rules.length === 0) return undefined;
  const scopes = narrowings
    .filter((narrowing) => narrowing.nextScopes.length > 0)
    .map(
      (narrowing) => `#   reins agents token ${narrowing.agentId} --scopes ${narrowing.nextScopes.join(',')}`,
    );
  return [
    `# Least privilege recommended by \`reins compliance scan\` at ${at}, from the calls recorded since ${windowStart}.`,
    '# Add this file beside the policy in force; check it first with',
    '#   reins policy diff --base <policy> --candidate <directory holding the policy and this file>',
    '# Calls older than the window of the tools denied here show in that diff as changes: they are the grants withdrawn.',
    ...(scopes.length > 0 ? ['# Issue the next credentials with the scopes they used:', ...scopes] : []),
    `apiVersion: ${POLICY_API_VERSION}`,
    'kind: Policy',
    `metadata: { name: ${RECOMMENDATION_NAME}, description: ${JSON.stringify(`grants not exercised since ${windowStart}`)} }`,
    'rules:',
    ...rules,
    '',
  ].join('\n');
}

/** A tool name that can be written literally in a rule (no glob characters). */
export function literalTool(tool: string): boolean {
  return !/[*?]/.test(tool);
}

function toolName(tool: ToolRef): string {
  return `${tool.server}/${tool.name}`;
}

/** `server/name` split at the first slash (upstream names hold none). */
export function refOf(tool: string): ToolRef {
  const slash = tool.indexOf('/');
  return { server: tool.slice(0, slash), name: tool.slice(slash + 1) };
}
