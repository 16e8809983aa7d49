/**
 * @module policy/glob
 * Name patterns in policies: `*` matches any run of characters (dots and slashes included),
 * `?` exactly one; everything else is literal. Deliberately small so that authors can predict it.
 */

export interface NameMatcher {
  /** The literal name when the pattern has no wildcard (used to index rules). */
  readonly exact: string | undefined;
  matches(name: string): boolean;
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

export function compileGlob(pattern: string): NameMatcher {
  if (!isGlob(pattern)) return { exact: pattern, matches: (name) => name === pattern };
  if (pattern === '*') return { exact: undefined, matches: () => true };
  return { exact: undefined, matches: (name) => wildcardMatch(pattern, name) };
}

/**
 * Classic greedy wildcard matching with backtracking to the last `*` only: O(pattern x name) in the
 * worst case, never exponential (a regex with several `.*` can be, and names may come from upstreams).
 */
function wildcardMatch(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    const token = pattern[p];
    if (token === '?' || (token !== undefined && token !== '*' && token === name[n])) {
      p++;
      n++;
    } else if (token === '*') {
      star = p++;
      resume = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Matches when any of the patterns matches; `undefined` patterns match everything. */
export function compileGlobList(patterns: readonly string[] | undefined): NameMatcher | undefined {
  if (patterns === undefined) return undefined;
  const matchers = patterns.map(compileGlob);
  if (matchers.length === 1) return matchers[0];
  return { exact: undefined, matches: (name) => matchers.some((matcher) => matcher.matches(name)) };
}
