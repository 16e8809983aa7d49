/**
 * @module inspect/posture-reading
 * How the posture score reads a policy statically (issue 19): the rules of every document with where
 * they are written, which of them apply to a scope (the deployment, or one agent by its id, roles and
 * owner), and which catalogue entries a scope can reach or has gated. A rule covers an entry when each
 * matcher it has accepts the entry's server and name patterns as written, its risk and its effects
 * (policy/compiled-rule `toolMatches`, with the patterns taken literally): `tool: { name: write_file }`
 * does not cover the catch-all `fs/*`, `tool: { server: fs }` does. Shadow rules enforce nothing and
 * are left out; a deny rule with a condition may not fire, so only unconditional ones make an entry
 * unreachable.
 */
import {
  compilePrincipalMatch,
  compileToolMatch,
  principalMatches,
  toolMatches,
} from '../policy/compiled-rule.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import type {
  CatalogueEntry,
  Effect,
  PolicyDocument,
  PrincipalMatch,
  ToolMatch,
} from '../spec/policy-document.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';

/** A policy document and the file it was read from. */
export interface PolicyFile {
  readonly file: string;
  readonly document: PolicyDocument;
}

export type RuleSection = 'rules' | 'sequences' | 'limits' | 'flows';

/** One rule of any section, where it is written, and what the score needs of it. */
export interface RuleAt {
  readonly file: string;
  readonly section: RuleSection;
  readonly index: number;
  readonly id: string;
  readonly effect: Effect;
  readonly enforced: boolean;
  readonly conditional: boolean;
  readonly principal: PrincipalMatch | undefined;
  readonly tool: ToolMatch | undefined;
  readonly ownerMayApprove: boolean;
}

export interface EntryAt {
  readonly file: string;
  readonly index: number;
  readonly entry: CatalogueEntry;
}

/** `fs/write_file`, `memory/*`: an entry as its patterns are written. */
export function entryName(entry: CatalogueEntry): string {
  return `${entry.server}/${entry.name}`;
}

export function entryRef(entry: CatalogueEntry): ToolRef {
  return { server: entry.server, name: entry.name };
}

export function rulesOf(files: readonly PolicyFile[]): RuleAt[] {
  return files.flatMap(({ file, document }) => {
    const shadowDocument = document.mode === 'shadow';
    const sections: [RuleSection, readonly RuleLike[]][] = [
      ['rules', document.rules],
      ['sequences', document.sequences],
      ['limits', document.limits],
      ['flows', document.flows],
    ];
    return sections.flatMap(([section, rules]) =>
      rules.map((rule, index) => ({
        file,
        section,
        index,
        id: rule.id,
        effect: rule.effect ?? 'approve',
        enforced: !shadowDocument && rule.mode !== 'shadow',
        conditional: rule.when !== undefined,
        principal: rule.principal,
        tool: rule.tool,
        ownerMayApprove: rule.approval?.ownerMayApprove === true,
      })),
    );
  });
}

interface RuleLike {
  readonly id: string;
  readonly effect?: Effect | undefined;
  readonly mode?: 'enforce' | 'shadow' | undefined;
  readonly when?: string | undefined;
  readonly principal?: PrincipalMatch | undefined;
  readonly tool?: ToolMatch | undefined;
  readonly approval?: { readonly ownerMayApprove: boolean } | undefined;
}

export function entriesOf(files: readonly PolicyFile[]): EntryAt[] {
  return files.flatMap(({ file, document }) =>
    document.tools.map((entry, index) => ({ file, index, entry })),
  );
}

/** The agent as a rule's principal matcher sees it, acting on its own task. */
export function principalOf(agent: AgentRecordV1): Principal {
  return { agentId: agent.id, roles: agent.roles, owner: agent.owner, delegatedBy: [], parentSessions: [] };
}

/** Does the rule apply to the scope (every rule applies to the deployment)? */
export function appliesTo(rule: RuleAt, agent: AgentRecordV1 | undefined): boolean {
  return agent === undefined || principalMatches(compilePrincipalMatch(rule.principal), principalOf(agent));
}

export function covers(rule: RuleAt, entry: CatalogueEntry): boolean {
  return toolMatches(compileToolMatch(rule.tool), entryRef(entry), {
    risk: entry.risk,
    effects: entry.effects,
    untrustedOutput: entry.untrustedOutput,
  });
}

/** The enforced rules of a scope. */
export function scopeRules(rules: readonly RuleAt[], agent: AgentRecordV1 | undefined): RuleAt[] {
  return rules.filter((rule) => rule.enforced && appliesTo(rule, agent));
}

/** Some enforced allow or approve rule covers the entry and no unconditional deny rule does. */
export function reachable(rules: readonly RuleAt[], entry: CatalogueEntry): boolean {
  const plain = rules.filter((rule) => rule.section === 'rules' && covers(rule, entry));
  if (plain.some((rule) => rule.effect === 'deny' && !rule.conditional)) return false;
  return plain.some((rule) => rule.effect === 'allow' || rule.effect === 'approve');
}

/** The approve rule that holds calls of the entry for a human, if any. */
export function gateOf(rules: readonly RuleAt[], entry: CatalogueEntry): RuleAt | undefined {
  return rules.find((rule) => rule.section === 'rules' && rule.effect === 'approve' && covers(rule, entry));
}

/** How a call of the entry's tool is undone, as decisions see it without captures. */
export function reversalKind(policy: PreparedPolicy, entry: CatalogueEntry): string {
  return policy.staticReversalFacts(entryRef(entry)).kind;
}

export const IMPACT_EFFECTS = ['external', 'irreversible'] as const;
export const CHANGE_EFFECTS = ['write', 'external', 'irreversible'] as const;

export function hasEffect(entry: CatalogueEntry, effects: readonly string[]): boolean {
  return entry.effects.some((effect) => effects.includes(effect));
}

/** A rule id not yet used in the policy: `base`, else `base-2`, ... */
export function freshId(rules: readonly RuleAt[], base: string): string {
  const used = new Set(rules.map((rule) => rule.id));
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** `fs-write-file` from `fs/write_file`: a rule id part (letters, digits, `-`). */
export function slug(text: string): string {
  return (
    text
      .replaceAll('*', 'all')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase() || 'tool'
  );
}
