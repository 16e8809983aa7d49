/**
 * @module dataflow/flow-check
 * The two data-flow checks a `flows` rule can make at a sink, as pure functions of the call's
 * arguments and the session's DataflowView:
 *
 * - provenance: a value in an addressing argument (or an identifier in a free-text argument) that was
 *   seen only in untrusted text, never in the user's request or a trusted structured field, is a
 *   violation; so is, with `unseen: flag`, a value seen nowhere once the user's request is declared.
 * - tenant: a value that came from an output labelled `tenant:A` reaching a sink addressed to
 *   tenant B (or to no identifiable tenant) is a violation.
 *
 * A violation names the argument, the value and the source call, so the decision can say why.
 */
import type { IdentifierKind, TrustedOrigin } from '../spec/dataflow-policy.js';
import type { DataflowView, SourceRecord, ValueOrigins } from '../spec/dataflow-view.js';
import { extractIdentifiers, extractNumbers, hostOf, normalizeWhole, tenantValue } from './identifiers.js';

export interface FlowViolation {
  /** The argument the value is in. */
  readonly arg: string;
  readonly value: string;
  /** `untrusted`: seen only in untrusted text; `unseen`: seen nowhere; `tenant`: another tenant's data. */
  readonly kind: 'untrusted' | 'unseen' | 'tenant';
  /** The call whose output the value came from (absent for `unseen`). */
  readonly source?: SourceRecord;
  /** For `tenant`: the tenant the value belongs to, and the one the sink addresses. */
  readonly valueTenant?: string;
  readonly sinkTenant?: string;
}

export interface ProvenanceCheck {
  /** Addressing arguments, checked as whole values (and for identifiers inside them). */
  readonly args: readonly string[];
  /** Free-text arguments, scanned for identifiers of `kinds`. */
  readonly text: readonly string[];
  readonly kinds: readonly IdentifierKind[];
  readonly trustedOrigins: ReadonlySet<TrustedOrigin>;
  readonly flagUnseen: boolean;
}

/** The first provenance violation in the call's arguments, or undefined. */
export function checkProvenance(
  check: ProvenanceCheck,
  args: Readonly<Record<string, unknown>>,
  view: DataflowView,
): FlowViolation | undefined {
  for (const arg of check.args) {
    for (const raw of strings(args[arg])) {
      const whole = normalizeWhole(raw);
      const kinds = check.kinds.filter((kind) => kind !== 'name');
      const candidates = [whole, ...extractIdentifiers(raw, kinds).map((found) => found.value)];
      for (const value of new Set(candidates)) {
        const violation = judge(check, view, arg, value, true);
        if (violation) return violation;
      }
    }
  }
  for (const arg of check.text) {
    for (const raw of strings(args[arg])) {
      for (const found of extractIdentifiers(raw, check.kinds)) {
        const violation = judge(check, view, arg, found.value, found.kind === 'name');
        if (violation) return violation;
      }
    }
  }
  return undefined;
}

function judge(
  check: ProvenanceCheck,
  view: DataflowView,
  arg: string,
  value: string,
  phrase: boolean,
): FlowViolation | undefined {
  if (value.length === 0) return undefined;
  // the Map lookup first; the phrase search over untrusted text only for values it does not clear
  let origins = view.origins(value, false);
  if (phrase && !clears(check, origins)) origins = view.origins(value, true);
  // a URL is as trustworthy as its host: `site.com/page` is known when `site.com` is
  const host = hostOf(value);
  if (host !== value && host.includes('.')) {
    const hostOrigins = view.origins(host, false);
    origins = {
      user: origins.user || hostOrigins.user,
      structured: origins.structured ?? hostOrigins.structured,
      untrusted: origins.untrusted ?? hostOrigins.untrusted,
      designated: origins.designated ?? hostOrigins.designated,
    };
  }
  const cleared = clears(check, origins);
  if (cleared) return undefined;
  const untrusted = origins.untrusted ?? origins.designated;
  if (untrusted !== undefined) return { arg, value, kind: 'untrusted', source: untrusted };
  if ((check.flagUnseen && view.hasUserInput) || !view.complete) return { arg, value, kind: 'unseen' };
  return undefined;
}

function clears(check: ProvenanceCheck, origins: ValueOrigins): boolean {
  return (
    (origins.user && check.trustedOrigins.has('user')) ||
    (origins.structured !== undefined && check.trustedOrigins.has('structured')) ||
    (origins.designated !== undefined && check.trustedOrigins.has('designated'))
  );
}

export interface TenantCheck {
  /** The argument naming the tenant the sink addresses. */
  readonly tenantArg: string | undefined;
  /** Picks the tenant out of that argument (first group), e.g. from a path. */
  readonly pattern?: string | undefined;
}

/** The first value in the arguments that belongs to another tenant than the one addressed. */
export function checkTenant(
  check: TenantCheck,
  args: Readonly<Record<string, unknown>>,
  view: DataflowView,
): FlowViolation | undefined {
  const addressed = check.tenantArg === undefined ? undefined : args[check.tenantArg];
  const sinkTenant = tenantValue(addressed, check.pattern);
  // fail closed: a session whose outputs could not all be indexed may hold any tenant's data
  if (!view.complete)
    return { arg: check.tenantArg ?? '(call)', value: '', kind: 'tenant', valueTenant: '(unknown)' };
  for (const [arg, value] of Object.entries(args)) {
    if (arg === check.tenantArg) continue; // the address itself is not content
    for (const raw of strings(value)) {
      const candidates = [
        normalizeWhole(raw),
        ...extractIdentifiers(raw).map((found) => found.value),
        ...extractNumbers(raw),
      ];
      for (const candidate of candidates) {
        const tenants = view.tenantsOf(candidate);
        // a value the addressed tenant's own data also holds (a year, a shared product name) is theirs too
        if (tenants === undefined || (sinkTenant !== undefined && tenants.has(sinkTenant))) continue;
        for (const [tenant, source] of tenants) {
          // fail closed: a sink with no identifiable tenant may not receive any tenant's data
          const violation: FlowViolation = {
            arg,
            value: candidate,
            kind: 'tenant',
            source,
            valueTenant: tenant,
          };
          return sinkTenant === undefined ? violation : { ...violation, sinkTenant };
        }
      }
    }
  }
  return undefined;
}

/** Every string in an argument value (strings, numbers, and those inside arrays and objects). */
function strings(value: unknown, depth = 0): string[] {
  if (value === null || value === undefined) return [];
  // deeper than the walk goes, the rest is scanned as text: nesting must not hide a value
  if (depth > 16) return [serialised(value)];
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'bigint') return [String(value)];
  if (Array.isArray(value)) return value.flatMap((item) => strings(item, depth + 1));
  if (typeof value === 'object')
    return Object.values(value as Record<string, unknown>).flatMap((item) => strings(item, depth + 1));
  return [];
}

/** A value as JSON text (what nesting too deep to walk is scanned as). */
function serialised(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

/** One line for the decision's reasons: what flowed where, and from which call. */
export function describeViolation(violation: FlowViolation): string {
  const from = violation.source
    ? ` from the output of \`${violation.source.tool}\` (decision ${violation.source.decisionId})`
    : '';
  if (violation.kind === 'tenant' && violation.valueTenant === '(unknown)')
    return "the session's data flow is incomplete (an output could not be indexed): no tenant can be ruled out";
  if (violation.kind === 'tenant') {
    const to = violation.sinkTenant
      ? `tenant \`${violation.sinkTenant}\``
      : 'a sink with no identifiable tenant';
    return `\`${violation.arg}\` carries \`${violation.value}\` of tenant \`${violation.valueTenant}\`${from} to ${to}`;
  }
  if (violation.kind === 'unseen')
    return `\`${violation.arg}\` = \`${violation.value}\` appears neither in the user's request nor in any output (or the session's data flow is incomplete)`;
  return `\`${violation.arg}\` = \`${violation.value}\` comes only from untrusted text${from}`;
}
