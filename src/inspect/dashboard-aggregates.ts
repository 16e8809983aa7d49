/**
 * @module inspect/dashboard-aggregates
 * What the console's dashboard shows of the audit log (issue 17), for one window ending now: the
 * decisions per time bucket by effect, the most denied tools, and how long held calls waited for the
 * human who decided them. One bounded scan of the window's records in sequence order, of their
 * searchable fields only (`AuditLog.queryIndex`: no body is read or parsed; the same statement on SQLite
 * and PostgreSQL), so both answer alike; a window with more records than the bound is summed up to the
 * bound and says so (`scan.truncated`).
 */
import type { AuditIndexRow, AuditLog } from '../store/audit-log.js';

/** The longest window and the most buckets a dashboard may ask for. */
export const DASHBOARD_LIMITS = { maxWindowMs: 31 * 86_400_000, maxBuckets: 200 } as const;
/** The most records one dashboard reads (a page is 10,000). */
export const DASHBOARD_MAX_RECORDS = 200_000;
const PAGE = 10_000;

/** Upper bounds of the wait histogram's bins (the last bin, `null`, holds the rest). */
export const WAIT_BINS_MS: readonly number[] = [
  5_000, 15_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000,
];

export type Effect = 'allow' | 'deny' | 'approve';

export interface DecisionBucket {
  readonly start: string;
  readonly allow: number;
  readonly deny: number;
  readonly approve: number;
}

export interface ApprovalWaits {
  readonly count: number;
  readonly p50Ms?: number;
  readonly p90Ms?: number;
  readonly maxMs?: number;
  /** Waits below `upToMs` and at or above the previous bin's; `null`: the rest. */
  readonly histogram: readonly { readonly upToMs: number | null; readonly count: number }[];
}

export interface DashboardAggregates {
  readonly window: {
    readonly from: string;
    readonly to: string;
    readonly durationMs: number;
    readonly bucketMs: number;
  };
  readonly decisions: {
    readonly buckets: readonly DecisionBucket[];
    readonly totals: Record<Effect, number>;
  };
  /** `tool`: `server/name`, as the agent and its upstream named it. */
  readonly topDenied: readonly { readonly tool: string; readonly count: number }[];
  readonly approvalWaits: ApprovalWaits;
  readonly scan: { readonly records: number; readonly truncated: boolean };
}

/** What one pass over the window's records collects. */
interface Collected {
  readonly counts: Record<Effect, number>[];
  /** Denials by tool (`server/name`). */
  readonly denied: Map<string, number>;
  /** Held calls: decision id → intent time (ms). */
  readonly held: Map<string, number>;
  /** Votes on held calls: decision id → time of the latest (ms). */
  readonly lastVote: Map<string, number>;
  /** Held calls that ended as a human decided: ran (`ok`, `error`) or refused (`denied`). */
  readonly decided: Set<string>;
}

/**
 * The dashboard of the `windowMs` before `now`, in `buckets` buckets. The caller bounds both
 * (DASHBOARD_LIMITS); `maxRecords` bounds the scan.
 */
export async function dashboardAggregates(
  audit: AuditLog,
  options: { windowMs: number; buckets: number; now: number; maxRecords?: number },
): Promise<DashboardAggregates> {
  const { windowMs, buckets, now } = options;
  const from = now - windowMs;
  const collected: Collected = {
    counts: Array.from({ length: buckets }, () => ({ allow: 0, deny: 0, approve: 0 })),
    denied: new Map(),
    held: new Map(),
    lastVote: new Map(),
    decided: new Set(),
  };
  const bucketOf = (time: number) => Math.min(buckets - 1, Math.floor(((time - from) * buckets) / windowMs));
  const scan = await scanWindow(audit, from, now, options.maxRecords ?? DASHBOARD_MAX_RECORDS, (row) =>
    collect(collected, row, bucketOf),
  );
  const totals = { allow: 0, deny: 0, approve: 0 };
  for (const count of collected.counts) {
    totals.allow += count.allow;
    totals.deny += count.deny;
    totals.approve += count.approve;
  }
  return {
    window: {
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      durationMs: windowMs,
      bucketMs: windowMs / buckets,
    },
    decisions: {
      buckets: collected.counts.map((count, index) => ({
        start: new Date(from + Math.round((index * windowMs) / buckets)).toISOString(),
        ...count,
      })),
      totals,
    },
    topDenied: [...collected.denied]
      .map(([tool, count]) => ({ tool, count }))
      .sort((a, b) => b.count - a.count || (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0))
      .slice(0, 10),
    approvalWaits: approvalWaits(waitsOf(collected)),
    scan,
  };
}

/** Reads the records of [from, to) page by page, oldest first, up to `maxRecords`. */
async function scanWindow(
  audit: AuditLog,
  from: number,
  to: number,
  maxRecords: number,
  visit: (row: AuditIndexRow) => void,
): Promise<{ records: number; truncated: boolean }> {
  let afterSeq: number | undefined;
  let records = 0;
  const pageOf = (limit: number) =>
    audit.queryIndex({
      from: iso(from),
      to: iso(to),
      limit,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
    });
  for (;;) {
    const limit = Math.min(PAGE, maxRecords - records);
    // one more record past the bound means the window was cut short
    if (limit <= 0) return { records, truncated: (await pageOf(1)).length > 0 };
    const page = await pageOf(limit);
    for (const row of page) visit(row);
    records += page.length;
    if (page.length < limit) return { records, truncated: false };
    afterSeq = page[page.length - 1]?.seq;
  }
}

const EFFECTS = new Set<string>(['allow', 'deny', 'approve']);
const VOTES = new Set(['approval.approve', 'approval.deny']);
const DECIDED_OUTCOMES = new Set(['ok', 'error', 'denied']);

function collect(collected: Collected, row: AuditIndexRow, bucketOf: (time: number) => number): void {
  const time = Date.parse(row.time);
  if (Number.isNaN(time)) return;
  if (row.kind === 'call-intent' && EFFECTS.has(row.effect)) {
    const effect = row.effect as Effect;
    const count = collected.counts[bucketOf(time)];
    if (count) count[effect] += 1;
    if (effect === 'deny') collected.denied.set(row.tool, (collected.denied.get(row.tool) ?? 0) + 1);
    if (effect === 'approve') collected.held.set(row.decisionId, time);
  } else if (row.kind === 'operator-action' && VOTES.has(row.effect)) {
    collected.lastVote.set(row.decisionId, Math.max(time, collected.lastVote.get(row.decisionId) ?? time));
  } else if (row.kind === 'call-outcome' && DECIDED_OUTCOMES.has(row.effect)) {
    collected.decided.add(row.decisionId);
  }
}

/**
 * A held call's wait: from its intent to the last vote on it. Votes are recorded before they are
 * counted, and none is accepted once a request is decided, so the last one is the deciding one. Only
 * calls a human decided count: voted on, and then run or refused; not those that expired, were
 * cancelled or abandoned (even after a first vote of a quorum).
 */
function waitsOf(collected: Collected): number[] {
  const waits: number[] = [];
  for (const [decisionId, intentTime] of collected.held) {
    const vote = collected.lastVote.get(decisionId);
    if (vote !== undefined && collected.decided.has(decisionId)) waits.push(Math.max(0, vote - intentTime));
  }
  return waits;
}

/** Percentiles by nearest rank, the maximum and the histogram of some waits. */
export function approvalWaits(waits: readonly number[]): ApprovalWaits {
  const sorted = [...waits].sort((a, b) => a - b);
  const histogram = [...WAIT_BINS_MS, null].map((upToMs) => ({ upToMs, count: 0 }));
  for (const wait of sorted) {
    const bin = histogram.find((each) => each.upToMs === null || wait < each.upToMs);
    if (bin) bin.count += 1;
  }
  if (sorted.length === 0) return { count: 0, histogram };
  const rank = (quantile: number) => sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] as number;
  return {
    count: sorted.length,
    p50Ms: rank(0.5),
    p90Ms: rank(0.9),
    maxMs: sorted[sorted.length - 1] as number,
    histogram,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
