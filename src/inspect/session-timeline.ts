/**
 * @module inspect/session-timeline
 * Reconstructs a session from the audit log, step by step: each call with its decision, its outcome
 * and its provenance (the calls whose outputs fed it, the delegating call, and where each argument
 * value came from: the call, the output field and its trust, or the user's declared request, issue
 * 18), and the posture of the session (issue 16): which of its calls can be undone, as each intent
 * recorded it, which a rollback undid (read from the session's rollback session), and for a
 * compensation, the call it undoes; and what the runtime monitor found on each call (issue 19). The
 * library behind `reins audit show-session`, `reins sessions show` and the console's session view.
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AuditLink, CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import type { MonitorFinding } from '../spec/monitor.js';
import type { CallProvenanceRecord } from '../spec/provenance.js';
import {
  type Compensates,
  isRollbackSession,
  type ReversalKind,
  rollbackSessionOf,
} from '../spec/reversal.js';
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
  /**
   * Where its argument values came from and the user's request it declared, as its intent recorded
   * them (spec/provenance); undefined for an intent written before argument provenance was recorded,
   * or when the intent is missing.
   */
  readonly provenance: CallProvenanceRecord | undefined;
  /** How the call can be undone, as its intent recorded it; `undeclared` when it recorded nothing. */
  readonly reversal: StepReversal | undefined;
  /**
   * What the runtime monitor found when the call was decided (issue 19), as its intent recorded it:
   * the rule, its action, the value observed against the bound, the baseline and the calls counted.
   * Empty when nothing deviated.
   */
  readonly monitor: readonly MonitorFinding[];
  /**
   * Whether the call changes anything: false for a tool the policy's catalogue says only reads; true
   * when its intent recorded a reversal, or the catalogue says more; undefined when no policy was given.
   */
  readonly changes: boolean | undefined;
  /** Did its tool (possibly) run? An intent without outcome may have run before a crash. */
  readonly ran: boolean;
  /** This call is a rollback's compensation of another call. */
  readonly compensates: Compensates | undefined;
  /** A rollback completed the undo of this call (every step of its compensation ended `ok`). */
  readonly undone: StepUndone | undefined;
}

export interface StepReversal {
  readonly kind: ReversalKind;
  readonly reason?: string;
}

export interface StepUndone {
  /** The rollback (its `session.rollback` operator action). */
  readonly rollbackId: string;
  /** The operator on whose authority it ran. */
  readonly by: string;
  /** The decision ids of the compensation steps. */
  readonly compensations: readonly string[];
}

/** Which of a session's calls that changed something can be undone. */
export interface SessionPosture {
  /** Calls of the session (compensations excluded). */
  readonly calls: number;
  /** Calls that ran and change something (not read-only). */
  readonly changing: number;
  /** Of those, the reversible ones. */
  readonly reversible: number;
  /** Changing calls by their reversibility. */
  readonly kinds: Partial<Record<ReversalKind, number>>;
  /** Calls a rollback undid. */
  readonly undone: number;
}

export interface TimelineOptions {
  /** The policy in force, to tell calls that only read (no reversal is needed) from the others. */
  readonly policy?: Pick<PreparedPolicy, 'toolFacts'>;
}

type Records = { intent?: SessionStep['intent']; outcome?: SessionStep['outcome'] };

/** Every step of `sessionId`, in the order the calls were attempted. */
export async function sessionTimeline(
  log: AuditLog,
  sessionId: string,
  options: TimelineOptions = {},
): Promise<SessionStep[]> {
  const { steps, order } = await callRecords(log, sessionId);
  const undone = await undoneCalls(log, sessionId);
  return order.map((decisionId) => {
    const step = steps.get(decisionId) ?? {};
    const event = step.intent?.event ?? step.outcome?.event;
    const intent = step.intent?.event;
    return {
      decisionId,
      agentId: event?.principal.agentId ?? '',
      delegatedBy: event?.principal.delegatedBy ?? [],
      tool: event ? `${event.tool.server}/${event.tool.name}` : '',
      intent: step.intent,
      outcome: step.outcome,
      links: intent?.links ?? [],
      provenance: intent?.provenance,
      reversal: intent ? reversalOf(intent) : undefined,
      monitor: intent?.monitor ?? [],
      changes: intent ? changes(intent, options.policy) : undefined,
      ran: ran(intent, step.outcome?.event),
      compensates: intent?.compensates,
      undone: undone.get(decisionId),
    };
  });
}

/** The posture of a session from its timeline. */
export function sessionPosture(steps: readonly SessionStep[]): SessionPosture {
  const calls = steps.filter((step) => step.compensates === undefined);
  const changing = calls.filter((step) => step.ran && step.changes !== false);
  const kinds: Partial<Record<ReversalKind, number>> = {};
  for (const step of changing) {
    const kind = step.reversal?.kind ?? 'undeclared';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return {
    calls: calls.length,
    changing: changing.length,
    reversible: kinds.reversible ?? 0,
    kinds,
    undone: calls.filter((step) => step.undone !== undefined).length,
  };
}

/**
 * One line on how a step can be undone, for a terminal: its recorded reversibility (a call whose intent
 * recorded none is a read, or a tool the catalogue gives no undo), what a compensation undoes, and
 * which rollback undid it.
 */
export function describeReversal(step: SessionStep): string {
  const parts: string[] = [];
  const { compensates } = step;
  if (compensates !== undefined)
    parts.push(
      `undoes ${compensates.decisionId} (step ${compensates.step + 1} of ${compensates.steps}, rollback ${compensates.rollbackId} by ${compensates.by})`,
    );
  else if (step.intent?.event.reversal === undefined)
    parts.push(step.changes === false ? 'read-only' : 'no reversal recorded');
  else if (step.reversal !== undefined)
    parts.push(`${step.reversal.kind}${step.reversal.reason ? ` — ${step.reversal.reason}` : ''}`);
  if (step.undone !== undefined)
    parts.push(`undone by rollback ${step.undone.rollbackId} (${step.undone.by})`);
  return parts.join('; ');
}

async function callRecords(
  log: AuditLog,
  sessionId: string,
): Promise<{ steps: Map<string, Records>; order: string[] }> {
  const steps = new Map<string, Records>();
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
  return { steps, order };
}

/**
 * The calls of `sessionId` a rollback undid, read from its rollback session: a call is undone when one
 * rollback's compensation of it has every step ended `ok` (as the rollback planner counts it).
 */
async function undoneCalls(log: AuditLog, sessionId: string): Promise<Map<string, StepUndone>> {
  const undone = new Map<string, StepUndone>();
  if (isRollbackSession(sessionId)) return undone; // compensations are not undone
  const { steps } = await callRecords(log, rollbackSessionOf(sessionId));
  const attempts = new Map<string, { by: string; count: number; ok: Map<number, string> }>();
  for (const { intent, outcome } of steps.values()) {
    const compensates = intent?.event.compensates;
    if (compensates === undefined || compensates.sessionId !== sessionId) continue;
    const key = `${compensates.decisionId}\n${compensates.rollbackId}`;
    const attempt = attempts.get(key) ?? { by: compensates.by, count: compensates.steps, ok: new Map() };
    if (outcome?.event.outcome === 'ok') attempt.ok.set(compensates.step, intent?.event.decisionId ?? '');
    attempts.set(key, attempt);
  }
  for (const [key, attempt] of attempts) {
    const [decisionId = '', rollbackId = ''] = key.split('\n');
    if (undone.has(decisionId) || attempt.ok.size < attempt.count) continue;
    const compensations = Array.from({ length: attempt.count }, (_, step) => attempt.ok.get(step));
    if (compensations.some((id) => id === undefined)) continue;
    undone.set(decisionId, { rollbackId, by: attempt.by, compensations: compensations as string[] });
  }
  return undone;
}

function reversalOf(intent: CallIntentEvent): StepReversal {
  const recorded = intent.reversal;
  if (recorded === undefined)
    return { kind: 'undeclared', reason: 'its catalogue entry declares no way to undo it' };
  return { kind: recorded.kind, ...(recorded.reason !== undefined ? { reason: recorded.reason } : {}) };
}

function changes(intent: CallIntentEvent, policy: TimelineOptions['policy']): boolean | undefined {
  if (intent.reversal !== undefined || intent.compensates !== undefined) return true;
  if (policy === undefined) return undefined;
  const effects = policy.toolFacts(intent.tool)?.effects ?? [];
  return !(effects.length > 0 && effects.every((effect) => effect === 'read'));
}

/** As rollback/session-calls reads it: allowed or released, and not refused before its tool started. */
function ran(intent: CallIntentEvent | undefined, outcome: CallOutcomeEvent | undefined): boolean {
  if (outcome === undefined) return intent !== undefined && intent.decision.effect !== 'deny';
  if (outcome.outcome === 'ok') return true;
  return outcome.outcome === 'error' && outcome.startedAt !== undefined;
}
