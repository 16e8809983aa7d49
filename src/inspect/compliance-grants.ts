/**
 * @module inspect/compliance-grants
 * Least privilege from observed use: for each agent, the tools the policy (and its mission scopes) lets
 * it call that it did not call in the window, and the recommendation that narrows it to what it used —
 * a policy document of `deny` rules (explicit deny wins) to add beside the policy in force, and the
 * scopes for its next credential. The rules name only tools it did not exercise in the window, so the
 * recommended policy decides every call of the window as before: `reins policy diff` shows it.
 */
import { Document } from 'yaml';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AgentNarrowing, ComplianceFinding } from '../spec/compliance.js';
import { describeError } from '../spec/errors.js';
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
  const unchecked = uncheckable(policy, tools);
  for (const subject of subjectsOf(agents, usage)) {
    const exercised = subject.usage?.exercised ?? new Map<string, string>();
    if (exercised.size === 0) continue; // never acted in the window: agent.dormant, or too new to judge
    const unusedTools = tools
      .map(toolName)
      .filter((tool) => !exercised.has(tool) && mayAllow(policy, subject.principal, tool, unchecked));
    const unusedScopes = (subject.scopes ?? []).filter(
      (scope) => ![...exercised.keys()].some((tool) => covers(scope, tool)),
    );
    if (unusedTools.length === 0 && unusedScopes.length === 0) continue;
    const nextScopes = [...exercised.keys()]
      .filter((tool) => subject.scopes === undefined || subject.scopes.some((scope) => covers(scope, tool)))
      .sort();
    const narrowing: AgentNarrowing = {
      agentId: subject.agentId,
      unusedTools,
      unusedScopes,
      nextScopes,
      notExpressible: [],
      olderCallsAffected: 0,
      olderCallsTruncated: false,
    };
    const expressible = new Set(expressibleTools(narrowing));
    narrowing.notExpressible = unusedTools.filter((tool) => !expressible.has(tool));
    narrowings.push(narrowing);
    findings.push(grantFinding(subject, narrowing, windowDays));
  }
  for (const [tool, message] of unchecked) findings.push(uncheckedFinding(tool, message));
  return { findings, narrowings };
}

/**
 * The tools the policy cannot be evaluated for, with why. `PreparedPolicy.mayAllow` answers false for
 * them (fail closed, for listing tools); here that would read as "no unused grant", so each tool's plan
 * is built first (`toolFacts`) and a failure becomes `grant.unchecked` instead.
 */
function uncheckable(policy: PreparedPolicy, tools: readonly ToolRef[]): Map<string, string> {
  const unchecked = new Map<string, string>();
  for (const tool of tools)
    try {
      policy.toolFacts(tool);
    } catch (error) {
      unchecked.set(toolName(tool), describeError(error));
    }
  return unchecked;
}

function mayAllow(
  policy: PreparedPolicy,
  principal: Principal,
  tool: string,
  unchecked: ReadonlyMap<string, string>,
): boolean {
  return !unchecked.has(tool) && policy.mayAllow(principal, refOf(tool));
}

function uncheckedFinding(tool: string, message: string): ComplianceFinding {
  return {
    code: 'grant.unchecked',
    severity: 'medium',
    subject: `tool:${tool}`,
    message: `the policy cannot be evaluated for \`${tool}\`: who may call it is unknown, so its grants were not reviewed`,
    evidence: [message],
    fix: `check the policy with \`reins policy lint\` and \`reins decide\` on a call of ${tool}, then scan again`,
  };
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

function grantFinding(subject: Subject, narrowing: AgentNarrowing, windowDays: number): ComplianceFinding {
  const { unusedTools, unusedScopes, nextScopes, notExpressible } = narrowing;
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
      ...(notExpressible.length > 0
        ? [
            `cannot be expressed as a rule (glob or control characters in the agent id or tool name), not in the recommended policy: ${notExpressible.join(', ')}`,
          ]
        : []),
    ],
    fix:
      unusedTools.length > notExpressible.length
        ? `add the recommended policy (\`reins compliance scan --recommend <dir>\`), check it with \`reins policy diff --base <policy> --candidate <policy + recommendation>\`, then issue its credentials with \`--scopes ${nextScopes.join(',')}\``
        : `issue its credentials with \`reins agents token ${shellWord(subject.agentId)} --scopes ${nextScopes.join(',')}\` and narrow its mission when it is next registered${notExpressible.length > 0 ? '; deny the tools that cannot be expressed as a rule by hand' : ''}`,
  };
}

/** The recommended policy document (YAML), or undefined when no agent has a tool to deny. */
export function recommendationPolicy(
  narrowings: readonly AgentNarrowing[],
  at: string,
  windowStart: string,
): string | undefined {
  // built as data and serialized by the yaml package: agent ids and tool names come from the log and
  // an upstream, so they must never be spliced into YAML text (or comments) by hand
  const rules = narrowings.flatMap((narrowing) =>
    expressibleTools(narrowing).map((tool, index) => ({
      id: `least-privilege.${narrowing.agentId}.${index + 1}`,
      principal: { agents: [narrowing.agentId] },
      tool: refOf(tool),
      effect: 'deny',
      reason: `least privilege: ${narrowing.agentId} did not call ${tool} between ${windowStart} and ${at}`,
    })),
  );
  if (rules.length === 0) return undefined;
  const document = new Document({
    apiVersion: POLICY_API_VERSION,
    kind: 'Policy',
    metadata: { name: RECOMMENDATION_NAME, description: `grants not exercised since ${windowStart}` },
    rules,
  });
  // only fixed text here: the per-agent commands are in the report (JSON `recommendation.agents`, text)
  document.commentBefore = [
    ` Least privilege recommended by \`reins compliance scan\` at ${at}, from the calls recorded since ${windowStart}.`,
    ' Add this file beside the policy in force; check it first with',
    '   reins policy diff --base <policy> --candidate <directory holding the policy and this file>',
    ' Calls older than the window of the tools denied here show in that diff as changes: they are the grants withdrawn.',
    " The scopes for each agent's next credential are in the report (`reins compliance scan`).",
  ].join('\n');
  return document.toString({ lineWidth: 0 });
}

/** The unused tools a literal rule can deny for this agent (none when its id is not literal). */
export function expressibleTools(narrowing: AgentNarrowing): string[] {
  if (!literalName(narrowing.agentId)) return [];
  return narrowing.unusedTools.filter(literalName);
}

/**
 * A name a rule can hold literally: no glob characters (`*`, `?`; `[`, `]`, `{`, `}` are refused too, so
 * that a richer pattern syntax later cannot widen an old recommendation) and no control characters.
 */
export function literalName(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  return name !== '' && !/[*?[\]{}\u0000-\u001f\u007f-\u009f]/.test(name);
}

/** A word a shell reads back as itself: plain names as they are, anything else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._@:/=+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function toolName(tool: ToolRef): string {
  return `${tool.server}/${tool.name}`;
}

/** `server/name` split at the first slash (upstream names hold none). */
export function refOf(tool: string): ToolRef {
  const slash = tool.indexOf('/');
  return { server: tool.slice(0, slash), name: tool.slice(slash + 1) };
}
