/**
 * @module spec/scopes
 * Scopes name the tools a credential may act on: `server/name` exactly, a prefix ending in `*`
 * (`crm/*`, `crm/db.*`), or `*`. Prefix globs only, so that "does scope A cover scope B" is decidable
 * exactly, and delegation can compute the intersection of two scope sets.
 */

const SCOPE_PATTERN = /^(\*|[A-Za-z0-9._:-]+\/(\*|[A-Za-z0-9._:/-]*\*?))$/;

export function isValidScope(scope: string): boolean {
  return (
    SCOPE_PATTERN.test(scope) &&
    scope.indexOf('*') === scope.lastIndexOf('*') &&
    (!scope.includes('*') || scope.endsWith('*'))
  );
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
