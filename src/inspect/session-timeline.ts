/**
 * @module inspect/session-timeline
 * Reconstructs a session from the audit log, step by step: each call with its decision, its outcome
 * and its provenance (the calls whose outputs fed it, the delegating call). The library behind
 * `reins audit show-session` and, later, the console's session view.
 */
import type { AuditLink, CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import { type AuditLog, MAX_QUERY_LIMIT } from '../store/audit-log.js';

export interface SessionStep {
  readonly decisionId: string;
  readonly agentId: string;
  readonly delegatedBy: readonly string[];
  /** `server/name`. */
  readonly tool: string;
  readonly intent: { readonly seq: number; readonly event: CallIntentEvent } | undefined;
  readonly outcome: { readonly seq: number; readonly event: CallOutcomeEvent } | undefined;
  /** Provenance declared on the intent (inputs, parent); the intent link of the outcome is implied. */
  readonly links: readonly AuditLink[];
}

/** Every step of `sessionId`, in the order the calls were attempted. */
export async function sessionTimeline(log: AuditLog, sessionId: string): Promise<SessionStep[]> {
  const steps = new Map<string, { intent?: SessionStep['intent']; outcome?: SessionStep['outcome'] }>();
  const order: string[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = await log.query({ sessionId, afterSeq, limit: MAX_QUERY_LIMIT });
    for (const record of page) {
      const { event } = record;
      // refused credentials, tool pinning and operator actions are not steps of the session's calls
      if (event.kind !== 'call-intent' && event.kind !== 'call-outcome') continue;
      let step = steps.get(event.decisionId);
      if (step === undefined) {
        step = {};
        steps.set(event.decisionId, step);
        order.push(event.decisionId);
      }
      if (event.kind === 'call-intent') step.intent = { seq: record.seq, event };
      else step.outcome = { seq: record.seq, event };
    }
    const last = page.at(-1);
    if (last === undefined || page.length < MAX_QUERY_LIMIT) break;
    afterSeq = last.seq;
  }
  return order.map((decisionId) => {
    const step = steps.get(decisionId) ?? {};
    const event = step.intent?.event ?? step.outcome?.event;
    return {
      decisionId,
      agentId: event?.principal.agentId ?? '',
      delegatedBy: event?.principal.delegatedBy ?? [],
      tool: event ? `${event.tool.server}/${event.tool.name}` : '',
      intent: step.intent,
      outcome: step.outcome,
      links: step.intent?.event.links ?? [],
    };
  });
}
