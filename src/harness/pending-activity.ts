/**
 * @module harness/pending-activity
 * Calls this process has decided for a monitored session whose intents the session's projection does
 * not hold yet (decision 0027). Without them, calls decided at the same time would each be judged
 * against the log as it was before any of them was recorded, and a concurrent burst would run in full,
 * every call seeing "1 call". Each decision of the session in this process sees the ones decided before
 * it, and a stop one of them raised. An entry leaves once the projection holds its intent, when its
 * intent could not be recorded, or after a minute at the latest. Calls decided at the same instant in
 * another replica are seen once their intents are in the log (docs/monitoring.md).
 */
import {
  type ActivityEntry,
  type ActivityTrail,
  type MonitorStop,
  moreSevereStop,
} from '../policy/monitor-activity.js';

interface PendingEntry {
  readonly entry: ActivityEntry;
  readonly stop: MonitorStop | undefined;
  readonly until: number;
}

const PENDING_FOR_MS = 60_000;
/** How far back in the projection an entry's intent is looked for. */
const LOOK_BACK = 256;

export class PendingActivity {
  private readonly bySession = new Map<string, PendingEntry[]>();

  constructor(private readonly clock: () => number) {}

  /** A call decided in this session; a later decision with the same id replaces it. */
  add(sessionId: string, entry: ActivityEntry, stop: MonitorStop | undefined): void {
    const list = (this.bySession.get(sessionId) ?? []).filter(
      (each) => each.entry.decisionId !== entry.decisionId,
    );
    list.push({ entry, stop, until: this.clock() + PENDING_FOR_MS });
    this.bySession.set(sessionId, list);
  }

  /** Its intent was not recorded: it never happened. */
  forget(sessionId: string, decisionId: string): void {
    const list = this.bySession.get(sessionId);
    if (list === undefined) return;
    const rest = list.filter((each) => each.entry.decisionId !== decisionId);
    if (rest.length === 0) this.bySession.delete(sessionId);
    else this.bySession.set(sessionId, rest);
  }

  /** The session's activity and stop as the projection has them, with what is still pending here. */
  view(
    sessionId: string,
    trail: ActivityTrail,
  ): { activity: readonly ActivityEntry[]; stop: MonitorStop | undefined } {
    const list = this.bySession.get(sessionId);
    if (list === undefined) return { activity: trail.entries, stop: trail.stop };
    const now = this.clock();
    const pending = list.filter(
      (each) => each.until > now && !recorded(trail.entries, each.entry.decisionId),
    );
    if (pending.length === 0) {
      this.bySession.delete(sessionId);
      return { activity: trail.entries, stop: trail.stop };
    }
    this.bySession.set(sessionId, pending);
    let stop = trail.stop;
    for (const each of pending) stop = moreSevereStop(stop, each.stop);
    return { activity: [...trail.entries, ...pending.map((each) => each.entry)], stop };
  }
}

function recorded(entries: readonly ActivityEntry[], decisionId: string): boolean {
  for (let at = entries.length - 1; at >= 0 && at >= entries.length - LOOK_BACK; at--)
    if ((entries[at] as ActivityEntry).decisionId === decisionId) return true;
  return false;
}
