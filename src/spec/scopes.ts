/**
 * @module spec/scopes
 * Scopes name the tools a credential may act on: `server/name` exactly, a prefix ending in `*`
 * (`crm/*`, `crm/db.*`), or `*`. Prefix globs only, so that "does scope A cover scope B" is decidable
 * exactly, and delegation can compute the intersection of two scope sets.
 *
 * Every entry parses scopes here, strictly (issue 11): a scope is one token without whitespace, and a
 * credential's `scope` claim is valid scopes separated by single spaces. A scope like `crm/db.select *`
 * must never pass one check and become `*` after the scopes are joined and split again.
 */
import { z } from 'zod';
import { ReinsError } from './errors.js';

const SCOPE_PATTERN = /^(\*|[A-Za-z0-9._:-]+\/(\*|[A-Za-z0-9._:/-]*\*?))$/;

export function isValidScope(scope: string): boolean {
  return (
    SCOPE_PATTERN.test(scope) &&
    scope.indexOf('*') === scope.lastIndexOf('*') &&
    (!scope.includes('*') || scope.endsWith('*'))
  );
}

const SCOPE_HINT = 'use `server/name`, a prefix ending in `*` (`crm/*`) or `*`, without spaces';

/** One scope, as agent records, principals and requests carry it. */
export const ScopeSchema = z.string().refine(isValidScope, { message: `invalid scope: ${SCOPE_HINT}` });

/** Requested scopes (CLI, API, library): every one valid, or a clear error naming the first bad one. */
export function parseScopes(scopes: readonly string[]): string[] {
  const invalid = scopes.find((scope) => !isValidScope(scope));
  if (invalid !== undefined)
    throw new ReinsError('invalid_input', `invalid scope \`${invalid}\`: ${SCOPE_HINT}`);
  return [...scopes];
}

/** The scopes of a credential's `scope` claim; undefined when the claim is not exactly valid scopes joined by single spaces. */
export function parseScopeClaim(claim: string): string[] | undefined {
  if (claim === '') return [];
  const scopes = claim.split(' ');
  return scopes.every(isValidScope) ? scopes : undefined;
}

/** Does `outer` allow everything `inner` allows? */
export function covers(outer: string, inner: string): boolean {
  if (outer === '*' || outer === inner) return true;
  if (!outer.endsWith('*')) return false;
  const prefix = outer.slice(0, -1);
  return inner.startsWith(prefix);
}

/** Is the tool `server/name` within any of the scopes? */
export function allowsTool(scopes: readonly string[], tool: string): boolean {
  return scopes.some((scope) => covers(scope, tool));
}

/** The scopes allowed by both sets (exact for prefix globs). */
export function intersectScopes(left: readonly string[], right: readonly string[]): string[] {
  const result = new Set<string>();
  for (const a of left) {
    for (const b of right) {
      if (covers(a, b)) result.add(b);
      else if (covers(b, a)) result.add(a);
    }
  }
  // drop scopes already covered by a broader one in the result
  return [...result]
    .filter((scope) => ![...result].some((other) => other !== scope && covers(other, scope)))
    .sort();
}
