/**
 * @module policy/monitor-activity
 * What the runtime monitor reads about one session, rebuilt from its audit records (decision 0027):
 * every call decided in it (allowed, held or denied) with the size of its recorded result, and whether
 * a monitor finding stopped the session. Kept by the session projection (policy/session-projection)
 * for live decisions, and by the baseline learner (policy/monitor-baseline) for the past, so that both
 * count the same calls the same way.
 *
 * A stop (a finding whose action is `hold`, `pause` or `suspend`) lasts until an operator resumes the
 * session (`session.resume`, recorded as an `operator-action` of the session): being in the log, it
 * applies in every process and replica and after a restart.
 */
import {
  type CallIntentEvent,
  type CallOutcomeEvent,
  type OperatorActionEvent,
  toolKeyOf,
} from '../spec/audit-event.js';
import { type MonitorAction, STOPPING_ACTIONS } from '../spec/monitor.js';
import type { ToolRef } from '../spec/tool-call.js';

/** One call of the session, as the monitor counts it. */
export interface ActivityEntry {
  readonly decisionId: string;
  readonly tool: ToolRef;
  /** `server/name`. */
  readonly key: string;
  /** Epoch ms of the decision. */
  readonly at: number;
  readonly denied: boolean;
  /** Characters of the recorded result (JSON); 0 until the outcome is on record. */
  outputChars: number;
  /** Monitor rules this call raised. */
  readonly raised?: readonly string[];
  /** Which rules of a compiled monitor count this call (policy/monitor keeps it here: windows read it often). */
  counted?: { readonly by: object; readonly matches: readonly boolean[] };
}

/** A finding that stopped the session, until an operator resumes it. */
export interface MonitorStop {
  readonly rule: string;
  readonly action: Exclude<MonitorAction, 'alert'>;
  readonly decisionId: string;
  readonly reason: string;
}

/** The most recent calls kept per session; windows that would need more count only these. */
export const MAX_ACTIVITY = 10_000;

export class ActivityTrail {
  readonly entries: ActivityEntry[] = [];
  stop: MonitorStop | undefined;
  /** When an operator last resumed the session (epoch ms): windows start again there. */
  resumedAt: number | undefined;
  /** One-call findings raised in the session: `rule NUL tool` (new-tool), `rule NUL from -> to` (transition). */
  readonly raisedOnce = new Set<string>();
  /** Entries whose outcome is not on record yet. */
  private readonly open = new Map<string, ActivityEntry>();

  /** A call's intent: it joins the trail; a finding that stops the session stops it. */
  admit(intent: CallIntentEvent): ActivityEntry {
    const raised = intent.monitor?.map((finding) => finding.rule);
    const key = toolKeyOf(intent.tool);
    for (const finding of intent.monitor ?? []) {
      if (finding.signal === 'new-tool') this.raisedOnce.add(`${finding.rule}\u0000${key}`);
      const previous = this.entries.at(-1);
      if (finding.signal === 'transition' && previous !== undefined)
        this.raisedOnce.add(`${finding.rule}\u0000${previous.key} -> ${key}`);
    }
    const entry: ActivityEntry = {
      decisionId: intent.decisionId,
      tool: intent.tool,
      key,
      at: Date.parse(intent.time),
      denied: intent.decision.effect === 'deny',
      outputChars: 0,
      ...(raised !== undefined ? { raised } : {}),
    };
    this.entries.push(entry);
    if (this.entries.length > MAX_ACTIVITY) {
      for (const dropped of this.entries.splice(0, this.entries.length - MAX_ACTIVITY / 2))
        this.open.delete(dropped.decisionId);
    }
    this.open.set(intent.decisionId, entry);
    this.stopBy(intent);
    return entry;
  }

  /** A call's outcome: the size of what it returned. */
  end(outcome: CallOutcomeEvent): void {
    const entry = this.open.get(outcome.decisionId);
    if (entry === undefined) return;
    this.open.delete(outcome.decisionId);
    if (outcome.outcome === 'ok' && outcome.result !== undefined)
      entry.outputChars = resultChars(outcome.result);
  }

  /** An operator resumed the session: a monitor's stop ends. */
  operatorAction(action: OperatorActionEvent): void {
    if (action.action !== 'session.resume') return;
    this.stop = undefined;
    this.resumedAt = Date.parse(action.time);
  }

  private stopBy(intent: CallIntentEvent): void {
    for (const finding of intent.monitor ?? []) {
      if (finding.action === 'alert') continue;
      const stop = {
        rule: finding.rule,
        action: finding.action,
        decisionId: intent.decisionId,
        reason: finding.message,
      };
      this.stop = moreSevereStop(this.stop, stop);
    }
  }
}

/** The more severe of two stops (suspend over pause over hold); the first on a tie. */
export function moreSevereStop(
  a: MonitorStop | undefined,
  b: MonitorStop | undefined,
): MonitorStop | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return STOPPING_ACTIONS.indexOf(b.action) > STOPPING_ACTIONS.indexOf(a.action) ? b : a;
}

/** The size of a recorded result as the log holds it (JSON characters). */
export function resultChars(result: unknown): number {
  try {
    return JSON.stringify(result)?.length ?? 0;
  } catch {
    return 0;
  }
}
