/**
 * Session ids of one run of the demo. A session's past lives in the audit log (decision 0020): a
 * second run on the same log would continue the first run's sessions (their limits spent, their
 * history seen). The first run on a log uses the plain ids (`ticket-1042`, which the docs show with
 * `reins audit show-session`); a run that appends to a log opens sessions of its own.
 */
import { randomUUID } from 'node:crypto';

let suffix = '';

/** Called once, before the scenarios: does this run append to a log that has records already? */
export function appendingRun(appending: boolean): void {
  suffix = appending ? `@run-${randomUUID().slice(0, 8)}` : '';
}

/** `name`, made unique to this run of the demo when it appends to an earlier run's log. */
export function demoSession(name: string): string {
  return `${name}${suffix}`;
}
