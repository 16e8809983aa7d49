/**
 * @module inspect/recorded-traffic-reader
 * Reads the audit log as recorded traffic (policy/recorded-traffic) from any store backend: the whole
 * log (policy diff, backtesting), or what one live session's next decision depends on (a dry run that
 * names the session: its own records, and every call record within the longest limit window, since
 * limits may be kept per agent or for everyone). Records a reader does not know (a later version's kind)
 * are reported, never silently skipped.
 */
import type { TrafficRecord } from '../policy/recorded-traffic.js';
import { readAuditRecord } from '../spec/audit-event.js';
import { ReinsError } from '../spec/errors.js';
import type { AuditLog, AuditQuery } from '../store/audit-log.js';

export type TrafficProblem = (seq: number, message: string) => void;

/** Every record of the log, in order. */
export async function readTraffic(log: AuditLog, onProblem: TrafficProblem): Promise<TrafficRecord[]> {
  const records: TrafficRecord[] = [];
  for await (const record of log.records()) {
    const reading = readAuditRecord(record.body);
    if (reading.ok) records.push({ seq: record.seq, event: reading.event });
    else onProblem(record.seq, reading.message);
  }
  return records;
}

/**
 * Records one dry run reads at most: a request must not make the control plane read a whole log. Reading
 * yields between pages, but rebuilding the state does not (about 10 µs a record), so this also bounds
 * how long one request can hold the process (about half a second).
 */
export const MAX_SESSION_TRAFFIC = 50_000;

/**
 * What a new call in `sessionId` at `now` is decided against: the session's records, and the call and
 * operator records of the last `windowMs` (limit counters), merged in log order. More than `max`
 * records is refused (not cut short: a partial history would decide wrongly).
 */
export async function readSessionTraffic(
  log: AuditLog,
  sessionId: string,
  now: number,
  windowMs: number,
  max = MAX_SESSION_TRAFFIC,
): Promise<TrafficRecord[]> {
  const bySeq = new Map<number, TrafficRecord>();
  await readPages(log, { sessionId }, bySeq, max);
  if (windowMs > 0) await readPages(log, { from: new Date(now - windowMs).toISOString() }, bySeq, max);
  return [...bySeq.values()].sort((left, right) => left.seq - right.seq);
}

const PAGE = 5_000;

async function readPages(
  log: AuditLog,
  query: AuditQuery,
  into: Map<number, TrafficRecord>,
  max: number,
): Promise<void> {
  let afterSeq = 0;
  for (;;) {
    const page = await log.query({ ...query, afterSeq, limit: PAGE });
    for (const view of page) into.set(view.seq, { seq: view.seq, event: view.event });
    if (into.size > max)
      throw new ReinsError(
        'invalid_input',
        `the session and the limit window hold more than ${max} records: too many for a dry run`,
      );
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return;
    afterSeq = last.seq;
    // the store reads synchronously (SQLite): let the gateway's calls in between pages
    await new Promise((resolve) => setImmediate(resolve));
  }
}
