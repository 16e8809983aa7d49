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
import {
  type ApprovalWaits,
  approvalWaits,
  collectHeld,
  decidedWaits,
  emptyHeldCalls,
  type HeldCalls,
  yieldToEventLoop,
} from './approval-waits.js';

export { type ApprovalWaits, approvalWaits, WAIT_BINS_MS } from './approval-waits.js';

/** The longest window and the most buckets a dashboard may ask for. */
export const DASHBOARD_LIMITS = { maxWindowMs: 31 * 86_400_000, maxBuckets: 200 } as const;
/** The most records one dashboard reads in its window. */
export const DASHBOARD_MAX_RECORDS = 200_000;
/** Records read in one synchronous step (a better-sqlite3 `.all()`); the event loop runs between two. */
const PAGE = 2_000;
/** A request joins a computation of the same dashboard under way whose `now` is at most this far off. */
export const DASHBOARD_SHARE_MS = 5_000;

export type Effect = 'allow' | 'deny' | 'approve';

export interface DecisionBucket {
  readonly start: string;
  readonly allow: number;
  readonly deny: number;
  readonly approve: number;
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
  readonly held: HeldCalls;
}

export interface DashboardOptions {
  readonly windowMs: number;
  readonly buckets: number;
  readonly now: number;
  readonly maxRecords?: number;
  /** How far before the window the intents of calls decided in it are looked for. Default 31 days. */
  readonly lookbackMs?: number;
}

/** Per audit log: the scan under way or queued last, and the computations others may join. */
interface Scans {
  tail: Promise<unknown>;
  readonly shared: Map<string, { readonly now: number; readonly result: Promise<DashboardAggregates> }>;
}
const scansOf = new WeakMap<AuditLog, Scans>();

/**
 * The dashboard of the `windowMs` before `now`, in `buckets` buckets. The caller bounds both
 * (DASHBOARD_LIMITS); `maxRecords` bounds the scan. Scans of one audit log run one at a time, and a
 * request for a dashboard being computed (same window and buckets, `now` within DASHBOARD_SHARE_MS)
 * gets that computation's answer: however many ask at once, the store is read about once per dashboard.
 */
export function dashboardAggregates(
  audit: AuditLog,
  options: DashboardOptions,
): Promise<DashboardAggregates> {
  let scans = scansOf.get(audit);
  if (scans === undefined) {
    scans = { tail: Promise.resolve(), shared: new Map() };
    scansOf.set(audit, scans);
  }
  const key = `${options.windowMs}/${options.buckets}/${options.maxRecords}/${options.lookbackMs}`;
  const running = scans.shared.get(key);
  if (running !== undefined && Math.abs(options.now - running.now) <= DASHBOARD_SHARE_MS)
    return running.result;
  const result = scans.tail.then(() => computeDashboard(audit, options));
  const entry = { now: options.now, result };
  const state = scans;
  state.tail = result.catch(() => undefined);
  state.shared.set(key, entry);
  const forget = () => {
    if (state.shared.get(key) === entry) state.shared.delete(key);
  };
  result.then(forget, forget);
  return result;
}

async function computeDashboard(audit: AuditLog, options: DashboardOptions): Promise<DashboardAggregates> {
  const { windowMs, buckets, now } = options;
  const from = now - windowMs;
  const collected: Collected = {
    counts: Array.from({ length: buckets }, () => ({ allow: 0, deny: 0, approve: 0 })),
    denied: new Map(),
    held: emptyHeldCalls(),
  };
  const bucketOf = (time: number) => Math.min(buckets - 1, Math.floor(((time - from) * buckets) / windowMs));
  const scan = await scanWindow(audit, from, now, options.maxRecords ?? DASHBOARD_MAX_RECORDS, (row) =>
    collect(collected, row, bucketOf),
  );
  const { waits, lookbackRecords } = await decidedWaits(audit, collected.held, {
    from,
    firstSeq: scan.firstSeq,
    lookbackMs: options.lookbackMs ?? DASHBOARD_LIMITS.maxWindowMs,
  });
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
    approvalWaits: approvalWaits(waits),
    scan: { records: scan.records + lookbackRecords, truncated: scan.truncated },
  };
}

/**
 * Reads the records of [from, to) page by page, oldest first, up to `maxRecords`, letting the event
 * loop run between pages (on SQLite each page is read synchronously).
 */
async function scanWindow(
  audit: AuditLog,
  from: number,
  to: number,
  maxRecords: number,
  visit: (row: AuditIndexRow) => void,
): Promise<{ records: number; truncated: boolean; firstSeq: number | undefined }> {
  let afterSeq: number | undefined;
  let firstSeq: number | undefined;
  let records = 0;
  const pageOf = (limit: number) =>
    audit.queryIndex({
      from: iso(from),
      to: iso(to),
      limit,
      ...(afterSeq !== undefined ? { afterSeq } : {}),
    });
  for (;;) {
    await yieldToEventLoop();
    const limit = Math.min(PAGE, maxRecords - records);
    // one more record past the bound means the window was cut short
    if (limit <= 0) return { records, truncated: (await pageOf(1)).length > 0, firstSeq };
    const page = await pageOf(limit);
    for (const row of page) visit(row);
    firstSeq ??= page[0]?.seq;
    records += page.length;
    if (page.length < limit) return { records, truncated: false, firstSeq };
    afterSeq = page[page.length - 1]?.seq;
  }
}

const EFFECTS = new Set<string>(['allow', 'deny', 'approve']);

function collect(collected: Collected, row: AuditIndexRow, bucketOf: (time: number) => number): void {
  const time = Date.parse(row.time);
  if (Number.isNaN(time)) return;
  if (row.kind === 'call-intent' && EFFECTS.has(row.effect)) {
    const effect = row.effect as Effect;
    const count = collected.counts[bucketOf(time)];
    if (count) count[effect] += 1;
    if (effect === 'deny') collected.denied.set(row.tool, (collected.denied.get(row.tool) ?? 0) + 1);
  }
  collectHeld(collected.held, row, time);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
