/**
 * @module inspect/approval-waits
 * The dashboard's "Approval wait times": how long held calls waited for the human who decided them.
 * A call counts in the window its deciding vote falls in, only if its outcome record carries a human
 * verdict (`approval`, decision 0006), and its wait runs from its intent, found before the window when
 * it was held there (a bounded look back), to that vote.
 */
import type { AuditIndexRow, AuditLog } from '../store/audit-log.js';

/** Upper bounds of the wait histogram's bins (the last bin, `null`, holds the rest). */
export const WAIT_BINS_MS: readonly number[] = [
  5_000, 15_000, 60_000, 300_000, 900_000, 3_600_000, 14_400_000, 86_400_000,
];
/** The most records read before the window to find the intents of calls decided in it. */
export const LOOKBACK_MAX_RECORDS = 50_000;

export interface ApprovalWaits {
  readonly count: number;
  readonly p50Ms?: number;
  readonly p90Ms?: number;
  readonly maxMs?: number;
  /** Waits below `upToMs` and at or above the previous bin's; `null`: the rest. */
  readonly histogram: readonly { readonly upToMs: number | null; readonly count: number }[];
}

/** What the window's records say of held calls. */
export interface HeldCalls {
  /** Held calls: decision id → intent time (ms). */
  readonly intents: Map<string, number>;
  /** Votes on held calls: decision id → time of the latest (ms). */
  readonly lastVote: Map<string, number>;
  /** Outcomes: decision id → the outcome and the record's seq (to read its verdict). */
  readonly outcomes: Map<string, { readonly outcome: string; readonly seq: number }>;
}

const VOTES = new Set(['approval.approve', 'approval.deny']);
/** A held call runs only once approved: its outcome carries the verdict (harness ClearedCall). */
const RAN = new Set(['ok', 'error']);
/** Refused or cancelled: by a human (a verdict on the outcome) or not (standing lost, store failure). */
const ENDED_OTHERWISE = new Set(['denied', 'cancelled']);
/** Outcome bodies read at a time before the event loop is let go. */
const VERDICT_READS_PER_TURN = 100;

export function emptyHeldCalls(): HeldCalls {
  return { intents: new Map(), lastVote: new Map(), outcomes: new Map() };
}

/** Notes what a record of the window says of held calls. */
export function collectHeld(held: HeldCalls, row: AuditIndexRow, time: number): void {
  if (row.kind === 'call-intent' && row.effect === 'approve') held.intents.set(row.decisionId, time);
  else if (row.kind === 'operator-action' && VOTES.has(row.effect))
    held.lastVote.set(row.decisionId, Math.max(time, held.lastVote.get(row.decisionId) ?? time));
  else if (row.kind === 'call-outcome')
    held.outcomes.set(row.decisionId, { outcome: row.effect, seq: row.seq });
}

/**
 * The waits of the calls a human decided in the window (`from` on): voted on there, ended with a
 * verdict. Votes are recorded before they are counted and none is accepted once a request is decided,
 * so the last vote is the deciding one. `firstSeq`: the window's first record, where the look back for
 * older intents starts. Returns the waits and the records the look back read.
 */
export async function decidedWaits(
  audit: AuditLog,
  held: HeldCalls,
  look: { from: number; firstSeq: number | undefined; lookbackMs: number },
): Promise<{ waits: number[]; lookbackRecords: number }> {
  const decided = await humanDecided(audit, held);
  const missing = new Set([...decided].filter((id) => !held.intents.has(id)));
  const lookbackRecords =
    missing.size > 0 && look.firstSeq !== undefined
      ? await findIntents(audit, held.intents, missing, look.firstSeq, look.from - look.lookbackMs)
      : 0;
  const waits: number[] = [];
  for (const id of decided) {
    const intentTime = held.intents.get(id);
    const vote = held.lastVote.get(id);
    if (intentTime !== undefined && vote !== undefined) waits.push(Math.max(0, vote - intentTime));
  }
  return { waits, lookbackRecords };
}

/** The decision ids voted on in the window whose outcome (also in it) carries a human verdict. */
async function humanDecided(audit: AuditLog, held: HeldCalls): Promise<string[]> {
  const decided: string[] = [];
  let reads = 0;
  for (const id of held.lastVote.keys()) {
    const ended = held.outcomes.get(id);
    if (ended === undefined) continue;
    if (RAN.has(ended.outcome)) decided.push(id);
    else if (ENDED_OTHERWISE.has(ended.outcome)) {
      if (++reads % VERDICT_READS_PER_TURN === 0) await yieldToEventLoop();
      if (await carriesVerdict(audit, ended.seq)) decided.push(id);
    }
  }
  return decided;
}

/** Whether the outcome record at `seq` says who approved or refused the call. */
async function carriesVerdict(audit: AuditLog, seq: number): Promise<boolean> {
  const [record] = await audit.query({ afterSeq: seq - 1, beforeSeq: seq + 1, limit: 1 });
  const event = record?.event;
  return event?.kind === 'call-outcome' && event.approval !== undefined;
}

/**
 * Reads back from the window's first record, newest first, for the intents of `missing`, until all
 * are found, a record is older than `notBefore`, or LOOKBACK_MAX_RECORDS were read.
 */
async function findIntents(
  audit: AuditLog,
  intents: Map<string, number>,
  missing: Set<string>,
  firstSeq: number,
  notBefore: number,
): Promise<number> {
  let beforeSeq = firstSeq;
  let records = 0;
  while (missing.size > 0 && records < LOOKBACK_MAX_RECORDS) {
    await yieldToEventLoop();
    const limit = Math.min(LOOKBACK_PAGE, LOOKBACK_MAX_RECORDS - records);
    const page = await audit.queryIndex({ beforeSeq, order: 'desc', limit });
    records += page.length;
    for (const row of page) {
      const time = Date.parse(row.time);
      if (time < notBefore) return records;
      if (row.kind === 'call-intent' && row.effect === 'approve' && missing.delete(row.decisionId))
        intents.set(row.decisionId, time);
    }
    const last = page[page.length - 1];
    if (page.length < limit || last === undefined) return records;
    beforeSeq = last.seq;
  }
  return records;
}

const LOOKBACK_PAGE = 2_000;

/** Lets timers and I/O run between two synchronous steps of a scan. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
