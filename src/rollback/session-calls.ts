/**
 * @module rollback/session-calls
 * What a rollback reads from the audit log: the calls of a session in the order they were made (intent
 * and outcome), the compensations earlier rollbacks of it ran (in its rollback session), and the calls
 * of other sessions since a point (for conflicts). Everything comes from the log, so a rollback started
 * in any process, after any restart, sees the same thing.
 */
import type { CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import { rollbackSessionOf } from '../spec/reversal.js';
import type { AuditLog, AuditQuery, AuditRecordView } from '../store/audit-log.js';

/** One call as the log holds it. */
export interface LoggedCall {
  readonly seq: number;
  readonly intent: CallIntentEvent;
  /** Absent: no outcome was recorded (still running, or its process died). */
  readonly outcome?: CallOutcomeEvent;
}

/** Did the call's tool (possibly) run? An intent without outcome may have run before a crash. */
export function mayHaveRun(call: LoggedCall): boolean {
  const { outcome } = call;
  if (outcome === undefined) return call.intent.decision.effect !== 'deny';
  if (outcome.outcome === 'ok') return true;
  return outcome.outcome === 'error' && outcome.startedAt !== undefined;
}

const PAGE = 5_000;
/** The most records a rollback reads for conflicts (the log since the first undone call). */
export const MAX_CONFLICT_SCAN = 200_000;

/** The calls of `sessionId`, oldest first (by the intent's place in the log). */
export async function sessionCalls(audit: AuditLog, sessionId: string): Promise<LoggedCall[]> {
  return joinCalls(await readAll(audit, { sessionId }));
}

/**
 * The compensations run for the session's calls so far, by the decision id of the call each undoes,
 * oldest first.
 */
export async function compensationsOf(
  audit: AuditLog,
  sessionId: string,
): Promise<Map<string, LoggedCall[]>> {
  const calls = await sessionCalls(audit, rollbackSessionOf(sessionId));
  const byUndone = new Map<string, LoggedCall[]>();
  for (const call of calls) {
    const undone = call.intent.compensates;
    if (undone === undefined || undone.sessionId !== sessionId) continue;
    const list = byUndone.get(undone.decisionId) ?? [];
    list.push(call);
    byUndone.set(undone.decisionId, list);
  }
  return byUndone;
}

/**
 * Calls of every session recorded after `afterSeq` (bounded: a scan that would be longer fails), and
 * the last sequence number read (where the next scan starts).
 */
export async function callsSince(
  audit: AuditLog,
  afterSeq: number,
): Promise<{ calls: LoggedCall[]; lastSeq: number }> {
  const records = await readAll(audit, { afterSeq }, MAX_CONFLICT_SCAN);
  return { calls: joinCalls(records), lastSeq: records.at(-1)?.seq ?? afterSeq };
}

async function readAll(audit: AuditLog, query: AuditQuery, max = Number.POSITIVE_INFINITY) {
  const records: AuditRecordView[] = [];
  let afterSeq = query.afterSeq ?? 0;
  for (;;) {
    const page = await audit.query({ ...query, afterSeq, order: 'asc', limit: PAGE });
    records.push(...page);
    if (records.length > max)
      throw new Error(`more than ${max} records to read: narrow the rollback with --to, or prune the log`);
    if (page.length < PAGE) return records;
    afterSeq = (page.at(-1) as AuditRecordView).seq;
  }
}

function joinCalls(records: readonly AuditRecordView[]): LoggedCall[] {
  const calls = new Map<string, { seq: number; intent: CallIntentEvent; outcome?: CallOutcomeEvent }>();
  const outcomes = new Map<string, CallOutcomeEvent>();
  for (const record of records) {
    const { event } = record;
    if (event.kind === 'call-intent') calls.set(event.decisionId, { seq: record.seq, intent: event });
    else if (event.kind === 'call-outcome') outcomes.set(event.decisionId, event);
  }
  return [...calls.values()].map((call) => {
    const outcome = outcomes.get(call.intent.decisionId);
    return outcome === undefined ? call : { ...call, outcome };
  });
}
