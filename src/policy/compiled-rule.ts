/**
 * @module policy/compiled-rule
 * Rules after compilation: matchers built, conditions type-checked. Produced by `compile-policy`,
 * consumed by `prepared-policy`; nothing here is parsed again on the hot path.
 */

import type { ProvenanceCheck, TenantCheck } from '../dataflow/flow-check.js';
import type { OutputSpec, SinkSpec } from '../spec/dataflow-policy.js';
import type { ToolFacts } from '../spec/decision.js';
import type { ApprovalRequirement } from '../spec/oversight.js';
import type {
  CatalogueEntry,
  Effect,
  LimitScope,
  PrincipalMatch,
  Risk,
  ToolEffect,
  ToolMatch,
} from '../spec/policy-document.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { CompiledExpression } from './conditions.js';
import { compileGlob, compileGlobList, isGlob, type NameMatcher } from './glob.js';
import type { CompiledReversal } from './reversal.js';

export interface CompiledToolMatch {
  readonly server: NameMatcher | undefined;
  readonly name: NameMatcher | undefined;
  /** Exact tool names when every name pattern is literal (used to index rules); undefined otherwise. */
  readonly exactNames: readonly string[] | undefined;
  readonly risk: ReadonlySet<Risk> | undefined;
  readonly effects: ReadonlySet<ToolEffect> | undefined;
}

export interface CompiledPrincipalMatch {
  readonly agents: NameMatcher | undefined;
  /** Exact agent ids when every agent pattern is literal (used to index rules). */
  readonly exactAgents: readonly string[] | undefined;
  readonly roles: readonly string[] | undefined;
  readonly owners: readonly string[] | undefined;
  readonly minDepth: number | undefined;
  readonly maxDepth: number | undefined;
}

interface CompiledRuleBase {
  readonly id: string;
  readonly effect: Effect;
  readonly reason: string;
  readonly shadow: boolean;
  /** Position in the policy set; keeps reasons in document order. */
  readonly order: number;
  readonly principal: CompiledPrincipalMatch | undefined;
  readonly tool: CompiledToolMatch | undefined;
  readonly condition: CompiledExpression<boolean> | undefined;
  /** Who may approve, for rules that hold calls (defaults applied). */
  readonly approval: { readonly requirement: ApprovalRequirement; readonly expiresInMs: number | undefined };
}

export interface CompiledPlainRule extends CompiledRuleBase {
  readonly kind: 'rule';
}

export interface CompiledSequenceRule extends CompiledRuleBase {
  readonly kind: 'sequence';
  readonly prior: {
    readonly mode: 'requires' | 'forbids';
    readonly tool: CompiledToolMatch;
    readonly condition: CompiledExpression<boolean> | undefined;
    readonly withinMs: number | undefined;
  };
}

export interface CompiledLimitRule extends CompiledRuleBase {
  readonly kind: 'limit';
  readonly per: readonly LimitScope[];
  readonly windowMs: number;
  readonly max: number;
  readonly amount: CompiledExpression<number> | undefined;
}

/** A `flows` rule: matches (applies its effect) when the sink's arguments violate the flow. */
export interface CompiledFlowRule extends CompiledRuleBase {
  readonly kind: 'flow';
  readonly check:
    | {
        readonly type: 'provenance';
        /** Overrides of the catalogue's `sink.args` / `sink.text`. */
        readonly args: readonly string[] | undefined;
        readonly text: readonly string[] | undefined;
        readonly base: Omit<ProvenanceCheck, 'args' | 'text'>;
      }
    | { readonly type: 'tenant' };
}

export type CompiledRule = CompiledPlainRule | CompiledSequenceRule | CompiledLimitRule | CompiledFlowRule;

/** What the catalogue says about a tool's data: how to index its output, and its sink arguments. */
export interface ToolDataflow {
  readonly untrustedOutput: boolean;
  readonly output: OutputSpec | undefined;
  readonly sink: SinkSpec | undefined;
}

export interface CompiledCatalogueEntry {
  readonly server: NameMatcher;
  readonly name: NameMatcher;
  readonly facts: ToolFacts;
  readonly dataflow: ToolDataflow;
  /** How a call is undone, when the entry says (`reversal`). */
  readonly reversal: CompiledReversal | undefined;
}

/** The provenance check of a flow rule for one tool (its sink declaration filling the defaults). */
export function provenanceFor(
  check: Extract<CompiledFlowRule['check'], { type: 'provenance' }>,
  sink: SinkSpec | undefined,
): ProvenanceCheck {
  return {
    args: check.args ?? sink?.args ?? [],
    text: check.text ?? sink?.text ?? [],
    kinds: check.base.kinds,
    trustedOrigins: check.base.trustedOrigins,
    flagUnseen: check.base.flagUnseen,
  };
}

export function tenantFor(sink: SinkSpec | undefined): TenantCheck {
  return { tenantArg: sink?.tenant?.arg, pattern: sink?.tenant?.pattern };
}

export function compileToolMatch(match: ToolMatch | undefined): CompiledToolMatch | undefined {
  if (match === undefined) return undefined;
  const exactNames = match.name?.every((pattern) => !isGlob(pattern)) ? match.name : undefined;
  return {
    server: compileGlobList(match.server),
    name: compileGlobList(match.name),
    exactNames,
    risk: match.risk ? new Set(match.risk) : undefined,
    effects: match.effects ? new Set(match.effects) : undefined,
  };
}

export function compilePrincipalMatch(match: PrincipalMatch | undefined): CompiledPrincipalMatch | undefined {
  if (match === undefined) return undefined;
  return {
    agents: compileGlobList(match.agents),
    exactAgents: match.agents?.every((pattern) => !isGlob(pattern)) ? match.agents : undefined,
    roles: match.roles,
    owners: match.owners,
    minDepth: match.delegationDepth?.min,
    maxDepth: match.delegationDepth?.max,
  };
}

export function compileCatalogueEntry(
  entry: CatalogueEntry,
  reversal?: CompiledReversal,
): CompiledCatalogueEntry {
  return {
    server: compileGlob(entry.server),
    name: compileGlob(entry.name),
    facts: { risk: entry.risk, effects: entry.effects, untrustedOutput: entry.untrustedOutput },
    dataflow: { untrustedOutput: entry.untrustedOutput, output: entry.output, sink: entry.sink },
    reversal,
  };
}

/** Does the tool (with its catalogue facts) satisfy the matcher? */
export function toolMatches(match: CompiledToolMatch | undefined, tool: ToolRef, facts: ToolFacts): boolean {
  if (match === undefined) return true;
  if (match.server && !match.server.matches(tool.server)) return false;
  if (match.name && !match.name.matches(tool.name)) return false;
  if (match.risk && !match.risk.has(facts.risk)) return false;
  if (match.effects && !facts.effects.some((effect) => match.effects?.has(effect))) return false;
  return true;
}

export function principalMatches(match: CompiledPrincipalMatch | undefined, principal: Principal): boolean {
  if (match === undefined) return true;
  if (match.agents && !match.agents.matches(principal.agentId)) return false;
  if (match.roles && !match.roles.some((role) => principal.roles.includes(role))) return false;
  if (match.owners && (principal.owner === undefined || !match.owners.includes(principal.owner)))
    return false;
  const depth = principal.delegatedBy.length;
  if (match.minDepth !== undefined && depth < match.minDepth) return false;
  if (match.maxDepth !== undefined && depth > match.maxDepth) return false;
  return true;
}
