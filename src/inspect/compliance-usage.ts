/**
 * @module inspect/compliance-usage
 * What the compliance scan knows about use, read from the audit log (never from a side channel): per
 * agent, the tools it exercised in the window (calls decided `allow` or `approve`: a denied attempt
 * exercises no grant), the principal it last acted as, and whether any of its calls named an owner.
 */

import type { Principal } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { MAX_QUERY_LIMIT } from '../store/audit-log.js';

export interface AgentUsage {
  readonly agentId: string;
  /** The principal of its latest call in the window (roles, owner, scopes as recorded). */
  principal: Principal;
  /** Calls in the window, any effect. */
  calls: number;
  /** `server/name` of each tool it exercised in the window, with the time of the latest call. */
  readonly exercised: Map<string, string>;
  /** Some call in the window named the accountable human. */
  ownerSeen: boolean;
  /** The seq of a call that shows it (for evidence). */
  firstSeq: number;
  lastSeq: number;
}

/** Every agent that called in `[fromIso, toIso)`, read page by page in log order. */
export async function readUsage(
  log: AuditLog,
  fromIso: string,
  toIso: string,
): Promise<Map<string, AgentUsage>> {
  const usage = new Map<string, AgentUsage>();
  let afterSeq = 0;
  for (;;) {
    const page = await log.query({
      kind: 'call-intent',
      from: fromIso,
      to: toIso,
      afterSeq,
      limit: MAX_QUERY_LIMIT,
    });
    for (const { seq, event } of page) {
      if (event.kind !== 'call-intent') continue;
      const { principal } = event;
      let entry = usage.get(principal.agentId);
      if (entry === undefined) {
        entry = {
          agentId: principal.agentId,
          principal,
          calls: 0,
          exercised: new Map(),
          ownerSeen: false,
          firstSeq: seq,
          lastSeq: seq,
        };
        usage.set(principal.agentId, entry);
      }
      entry.principal = principal;
      entry.calls++;
      entry.lastSeq = seq;
      if (principal.owner !== undefined) entry.ownerSeen = true;
      if (event.decision.effect !== 'deny')
        entry.exercised.set(`${event.tool.server}/${event.tool.name}`, event.time);
    }
    const last = page.at(-1);
    if (last === undefined || page.length < MAX_QUERY_LIMIT) return usage;
    afterSeq = last.seq;
    // the store reads synchronously (SQLite): let a serving gateway's calls in between pages
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Calls before `beforeIso` of `tool` by `agentId` that were allowed or held: what denying it would
 * change. Each effect is counted up to the store's query limit; `truncated` says a count reached it
 * (the figure is then a lower bound), so that a large number never reads as an exact one.
 */
export async function countOlderCalls(
  log: AuditLog,
  agentId: string,
  tool: string,
  beforeIso: string,
): Promise<{ count: number; truncated: boolean }> {
  let count = 0;
  let truncated = false;
  for (const effect of ['allow', 'approve']) {
    const rows = await log.queryIndex({
      kind: 'call-intent',
      agentId,
      tool,
      effect,
      to: beforeIso,
      limit: MAX_QUERY_LIMIT,
    });
    count += rows.length;
    if (rows.length >= MAX_QUERY_LIMIT) truncated = true;
  }
  return { count, truncated };
}
