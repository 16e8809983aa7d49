/**
 * @module audit/calls-without-outcome
 * The calls whose intent is in the log and whose outcome is not. Every call that gets an intent gets an
 * outcome, denials at once; a call is without one while it runs or waits for approval, or when the
 * process (or, with `causal` durability, the machine) went down before its outcome was written or
 * reached the disk (decision 0028). That is not tampering: the chain is intact. Verification reports
 * these calls apart from its verdict, so that an outcome lost to a crash is seen for what it is.
 */
import type { ChainedRecord } from '../spec/audit-event.js';

export interface CallsWithoutOutcome {
  /** How many calls have an intent and no outcome. */
  readonly count: number;
  /** The newest of them (at most `sample`), oldest first: record seq and decision id. */
  readonly newest: readonly { readonly seq: number; readonly decisionId: string }[];
}

/** Walks the records (index columns only, bodies unread) and finds the intents no outcome followed. */
export async function callsWithoutOutcome(
  records: Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>,
  sample = 5,
): Promise<CallsWithoutOutcome> {
  const open = new Map<string, number>();
  for await (const record of records) {
    if (record.kind === 'call-intent') open.set(record.decisionId, record.seq);
    else if (record.kind === 'call-outcome') open.delete(record.decisionId);
  }
  // insertion order is log order: the last entries are the newest
  const newest = [...open].slice(-sample).map(([decisionId, seq]) => ({ seq, decisionId }));
  return { count: open.size, newest };
}

/** One line for `reins audit verify`, or undefined when every call has its outcome. */
export function describeCallsWithoutOutcome(found: CallsWithoutOutcome): string | undefined {
  if (found.count === 0) return undefined;
  const records = found.newest.map((call) => call.seq).join(', ');
  const newest =
    found.count > found.newest.length ? `the newest at records ${records}` : `records ${records}`;
  return `calls without an outcome: ${found.count} (${newest}): still running or waiting for approval, or their outcome was lost when the process or the machine went down before it was written or reached the disk (decision 0028); not tampering, the chain is intact`;
}
