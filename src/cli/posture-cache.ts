/**
 * @module cli/posture-cache
 * The posture score as `GET /v1/posture` serves it (issue 19): scoring verifies the whole chain, reads
 * up to 200,000 records and compiles the policy once per fix, so a viewer refreshing the page must not
 * be able to keep the process busy with it. The report is computed at most once a minute (the
 * deployment's, which holds every active agent's; an agent it lacks on its own), concurrent requests
 * share one computation, and the report says when it was computed (`computedAt`). A failed computation
 * is not kept: the next request tries again.
 */
import type { PostureReport } from '../inspect/posture-model.js';

/** How long a computed report is served before it is scored again. */
export const POSTURE_CACHE_MS = 60_000;

/** Reports kept at most (agents asked for by id); the oldest agent's goes first. */
export const POSTURE_CACHE_ENTRIES = 256;

export type ComputedPostureReport = PostureReport & { readonly computedAt: string };

export interface PostureCacheOptions {
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

interface Entry {
  readonly report: Promise<ComputedPostureReport>;
  /** When the computation finished; undefined while it runs. */
  computedAt?: number;
}

/**
 * `compute`, cached and single-flight. An agent asked for is answered from the deployment's report,
 * which scores every agent that is not retired, so that asking for each agent in turn costs one
 * computation; only an agent that report lacks (retired, registered since, or unknown) is computed on
 * its own, and kept under its id.
 */
export function cachedPosture(
  compute: (agentId?: string) => Promise<PostureReport>,
  options: PostureCacheOptions = {},
): (agentId?: string) => Promise<ComputedPostureReport> {
  const cached = keyedCache(compute, options);
  return async (agentId) => {
    const all = await cached(undefined);
    if (agentId === undefined) return all;
    const scored = all.agents.find(({ scope }) => scope.kind === 'agent' && scope.agentId === agentId);
    return scored !== undefined ? { ...all, agents: [scored] } : cached(agentId);
  };
}

/** One computation per key at a time, kept `ttlMs` after it finished; failures are not kept. */
function keyedCache(
  compute: (agentId?: string) => Promise<PostureReport>,
  options: PostureCacheOptions,
): (agentId?: string) => Promise<ComputedPostureReport> {
  const ttl = options.ttlMs ?? POSTURE_CACHE_MS;
  const max = options.maxEntries ?? POSTURE_CACHE_ENTRIES;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const fresh = (entry: Entry) => entry.computedAt === undefined || now() - entry.computedAt < ttl;

  return (agentId) => {
    // agent ids are never empty (the route refuses ``), so `` is the deployment's key
    const key = agentId ?? '';
    const found = entries.get(key);
    if (found !== undefined && fresh(found)) return found.report;
    entries.delete(key);
    for (const [other, entry] of entries) if (!fresh(entry)) entries.delete(other);
    if (entries.size >= max) {
      // the deployment's report is the one every request reads: an agent's goes first
      const oldest = [...entries.keys()].find((other) => other !== '');
      if (oldest !== undefined) entries.delete(oldest);
    }
    const entry: Entry = {
      // through a promise, so that a compute that throws at once fails this request like one that rejects
      report: Promise.resolve(agentId)
        .then(compute)
        .then(
          (report) => {
            entry.computedAt = now();
            return { ...report, computedAt: new Date(entry.computedAt).toISOString() };
          },
          (error: unknown) => {
            if (entries.get(key) === entry) entries.delete(key);
            throw error;
          },
        ),
    };
    entries.set(key, entry);
    return entry.report;
  };
}
