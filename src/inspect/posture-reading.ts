/**
 * @module inspect/posture-reading
 * How the posture score reads a policy statically (issue 19): the rules of every document with where
 * they are written, which of them apply to a scope (the deployment, or one agent by its id, roles and
 * owner), and which catalogue entries a scope can reach or has gated. Patterns are read as the sets
 * of names they match: an allow or approve rule reaches an entry when it may match some call that takes
 * the entry's facts (`allow fs/delete_file` reaches the catch-all `fs/*` when `delete_file` has no entry
 * of its own); a deny makes an entry unreachable, and an approve rule gates it, only when it covers
 * every call of the entry (`deny fs/*` covers `fs/write_file`, `deny fs/write_file` does not cover
 * `fs/*`), with no condition and, for the deployment, no principal matcher: a rule that may not fire,
 * or fires for some agents only, does not hold for the scope. Shadow rules enforce nothing and are
 * left out.
 */
import { compilePrincipalMatch, principalMatches } from '../policy/compiled-rule.js';
import { compileGlob, isGlob } from '../policy/glob.js';
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

/**
 * What a policy is read against for one scope: its enforced rules, the catalogue in order (a call
 * takes the facts of the first entry that matches it) and the agent scored (undefined for the
 * deployment).
 */
export interface ReadingScope {
  readonly rules: readonly RuleAt[];
  readonly entries: readonly EntryAt[];
  readonly agent: AgentRecordV1 | undefined;
}

/** Can some name match both patterns? Two globs are taken to (conservatively: the entry is reachable). */
function mayOverlap(rulePattern: string, entryPattern: string): boolean {
  if (!isGlob(rulePattern)) return compileGlob(entryPattern).matches(rulePattern);
  if (!isGlob(entryPattern)) return compileGlob(rulePattern).matches(entryPattern);
  return true;
}

/** Does the rule's pattern match every name the entry's pattern can match? */
function contains(rulePattern: string, entryPattern: string): boolean {
  if (!isGlob(entryPattern)) return compileGlob(rulePattern).matches(entryPattern);
  // a glob entry (`*`, `read_?`) is contained only by `*` or by itself: `?` is one character, not `*`
  return rulePattern === '*' || rulePattern === entryPattern;
}

function factsMatch(rule: RuleAt, entry: CatalogueEntry): boolean {
  const risk = rule.tool?.risk;
  const effects = rule.tool?.effects;
  if (risk !== undefined && !risk.includes(entry.risk)) return false;
  return effects === undefined || entry.effects.some((effect) => effects.includes(effect));
}

/**
 * Does the rule hold every call the entry describes (its patterns contain the entry's, its risk and
 * effects accept the entry's facts)? What a deny must do to make an entry unreachable, and an approve
 * rule to gate it.
 */
export function coversAll(rule: RuleAt, entry: CatalogueEntry): boolean {
  const all = (patterns: readonly string[] | undefined, entryPattern: string) =>
    patterns === undefined || patterns.some((pattern) => contains(pattern, entryPattern));
  return all(rule.tool?.server, entry.server) && all(rule.tool?.name, entry.name) && factsMatch(rule, entry);
}

/**
 * May the rule match some call that takes the entry's facts? Its patterns may overlap the entry's, and
 * a literal tool it names (`fs/delete_file`) counts for the first catalogue entry that matches that
 * tool: a tool not catalogued on its own is an instance of the catch-all (`fs/*`), one catalogued
 * earlier is not.
 */
export function mayReach(rule: RuleAt, at: EntryAt, entries: readonly EntryAt[]): boolean {
  if (!factsMatch(rule, at.entry)) return false;
  const servers = rule.tool?.server ?? ['*'];
  const names = rule.tool?.name ?? ['*'];
  return servers.some((server) =>
    names.some((name) => {
      if (!mayOverlap(server, at.entry.server) || !mayOverlap(name, at.entry.name)) return false;
      if (isGlob(server) || isGlob(name)) return true;
      return firstEntryOf(entries, { server, name }) === at;
    }),
  );
}

/** The catalogue entry a call of the tool takes its facts from (the first that matches). */
function firstEntryOf(entries: readonly EntryAt[], tool: ToolRef): EntryAt | undefined {
  return entries.find(
    ({ entry }) =>
      compileGlob(entry.server).matches(tool.server) && compileGlob(entry.name).matches(tool.name),
  );
}

/** The enforced rules of a scope. */
export function scopeRules(rules: readonly RuleAt[], agent: AgentRecordV1 | undefined): RuleAt[] {
  return rules.filter((rule) => rule.enforced && appliesTo(rule, agent));
}

/**
 * Does the rule hold for every call of the scope, whoever makes it and whatever the arguments? No
 * condition, and no principal matcher for the deployment (a rule aimed at one agent says nothing of the
 * others); for an agent, its matcher already accepted the agent (scopeRules), unless it bounds the
 * delegation depth, which differs from call to call.
 */
function holdsForScope(rule: RuleAt, agent: AgentRecordV1 | undefined): boolean {
  if (rule.conditional) return false;
  if (agent === undefined) return rule.principal === undefined;
  return rule.principal?.delegationDepth === undefined;
}

/**
 * Some enforced allow or approve rule may reach the entry, and no deny rule that holds for the whole
 * scope covers all of it.
 */
export function reachable(scope: ReadingScope, at: EntryAt): boolean {
  const plain = scope.rules.filter((rule) => rule.section === 'rules');
  const denied = plain.some(
    (rule) => rule.effect === 'deny' && holdsForScope(rule, scope.agent) && coversAll(rule, at.entry),
  );
  if (denied) return false;
  return plain.some(
    (rule) => (rule.effect === 'allow' || rule.effect === 'approve') && mayReach(rule, at, scope.entries),
  );
}

/**
 * The approve rule that holds the scope's calls of the entry for a human, if any: one that holds for
 * the whole scope and covers every call of the entry, or, when no allow rule may reach the entry, any
 * approve rule that reaches it (approve beats allow and nothing matching is denied, so every call that
 * goes on was held, whatever the approve rules' principals and conditions).
 */
export function gateOf(scope: ReadingScope, at: EntryAt): RuleAt | undefined {
  const plain = scope.rules.filter((rule) => rule.section === 'rules');
  const holding = plain.find(
    (rule) => rule.effect === 'approve' && holdsForScope(rule, scope.agent) && coversAll(rule, at.entry),
  );
  if (holding !== undefined) return holding;
  if (plain.some((rule) => rule.effect === 'allow' && mayReach(rule, at, scope.entries))) return undefined;
  return plain.find((rule) => rule.effect === 'approve' && mayReach(rule, at, scope.entries));
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
