/**
 * @module inspect/compliance-gates
 * Whether a tool with lasting effects (external, irreversible) is held for a human before it runs: the
 * `tool.ungated-effect` and `tool.conditional-gate` findings of the compliance scan. A gate counts only
 * where it holds every call that could otherwise be allowed: an approve rule limited to some principals
 * or behind a `when:` condition holds some calls and lets the others through an allow rule, so it does
 * not clear the tool for everyone.
 */
import { type CompiledToolMatch, compileToolMatch, toolMatches } from '../policy/compiled-rule.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { ComplianceFinding } from '../spec/compliance.js';
import type { ToolFacts } from '../spec/decision.js';
import type { PrincipalMatch, RuleDocument } from '../spec/policy-document.js';
import type { ToolRef } from '../spec/tool-call.js';

/** Irreversible or external tools that no approve rule holds for every caller and no compensation undoes. */
export function ungatedEffects(policy: PreparedPolicy, tools: readonly ToolRef[]): ComplianceFinding[] {
  const enforced: { rule: RuleDocument; match: CompiledToolMatch | undefined }[] = policy.documents.flatMap(
    (document) =>
      document.mode === 'shadow'
        ? []
        : document.rules
            .filter((rule) => rule.mode !== 'shadow' && rule.effect !== 'deny')
            .map((rule) => ({ rule, match: compileToolMatch(rule.tool) })),
  );
  const findings: ComplianceFinding[] = [];
  for (const tool of tools) {
    const facts = factsOf(policy, tool);
    if (facts === undefined) continue;
    const reversal = policy.reversalOf(tool);
    const lasting = facts.effects.filter((effect) => effect === 'irreversible' || effect === 'external');
    if (reversal !== undefined && reversal.kind !== 'compensation') lasting.push(reversal.kind);
    if (lasting.length === 0 || reversal?.kind === 'compensation') continue;
    const matching = enforced.filter((entry) => toolMatches(entry.match, tool, facts));
    const gates = matching.filter((entry) => entry.rule.effect === 'approve').map((entry) => entry.rule);
    const allows = matching.filter((entry) => entry.rule.effect === 'allow').map((entry) => entry.rule);
    const open = allows.filter((allow) => !gates.some((gate) => holdsEvery(gate, allow)));
    // no approve rule matches: ungated, as before; approve rules but some allow they do not cover:
    // gated only for some calls
    if (gates.length > 0 && open.length === 0) continue;
    const name = `${tool.server}/${tool.name}`;
    const effects = [...new Set(lasting)].join(' and ');
    const catalogue = `catalogue: risk ${facts.risk}, effects ${facts.effects.join(', ')}, reversal ${reversal?.kind ?? 'undeclared'}`;
    const fix = `add a rule \`{ id: approve-${tool.name}, tool: { server: ${tool.server}, name: ${JSON.stringify(tool.name)} }, effect: approve, reason: … }\` without \`principal\` or \`when\`, or a \`reversal\` compensation in its catalogue entry`;
    if (gates.length === 0)
      findings.push({
        code: 'tool.ungated-effect',
        severity: 'high',
        subject: `tool:${name}`,
        message: `\`${name}\` has ${effects} effects, yet no approve rule can hold it and no compensation undoes it`,
        evidence: [catalogue, 'approve rules in force matching it: none'],
        fix,
      });
    else
      findings.push({
        code: 'tool.conditional-gate',
        severity: 'medium',
        subject: `tool:${name}`,
        message: `\`${name}\` has ${effects} effects and its approve rules hold it only for some callers or under a condition: the allow rules ${open.map((rule) => `\`${rule.id}\``).join(', ')} let other calls through unheld`,
        evidence: [
          catalogue,
          ...gates.map((gate) => `approve rule ${gate.id}: ${scopeOf(gate)}`),
          ...open.map((allow) => `allow rule ${allow.id}: ${scopeOf(allow)}`),
        ],
        fix,
      });
  }
  return findings;
}

/** The catalogue's facts; undefined when the policy cannot plan the tool (`grant.unchecked` says so). */
function factsOf(policy: PreparedPolicy, tool: ToolRef): ToolFacts | undefined {
  try {
    return policy.toolFacts(tool);
  } catch {
    return undefined;
  }
}

/**
 * Whether the approve rule holds every call the allow rule would let through: it has no condition, and
 * its principal matcher is absent (anyone) or the same as the allow rule's.
 */
function holdsEvery(gate: RuleDocument, allow: RuleDocument): boolean {
  if (gate.when !== undefined) return false;
  return unrestricted(gate.principal) || canonical(gate.principal) === canonical(allow.principal);
}

function unrestricted(principal: PrincipalMatch | undefined): boolean {
  if (principal === undefined) return true;
  const { agents, roles, owners, delegationDepth } = principal;
  const anyAgent = agents === undefined || [agents].flat().includes('*');
  return anyAgent && roles === undefined && owners === undefined && delegationDepth === undefined;
}

/** A principal matcher as comparable text (keys sorted, single values as lists). */
function canonical(principal: PrincipalMatch | undefined): string {
  if (principal === undefined) return '';
  const entries = Object.entries(principal)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [key, typeof value === 'string' ? [value] : value] as const)
    .sort(([left], [right]) => left.localeCompare(right));
  return JSON.stringify(entries);
}

function scopeOf(rule: RuleDocument): string {
  const who = rule.principal === undefined ? 'any principal' : `principal ${JSON.stringify(rule.principal)}`;
  return rule.when === undefined ? who : `${who}, when ${rule.when}`;
}
