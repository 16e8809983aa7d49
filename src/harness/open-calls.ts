/**
 * @module harness/open-calls
 * What the harness needs to serve calls whose tool the caller runs itself (the remote protocol and the
 * adapters, decision 0021): where such a call stands is read from the store — its intent and outcome
 * from the audit log, its approval request from the approval store — so any process or replica on the
 * store can answer for it, also after a restart. This process additionally remembers the calls it
 * opened (bounded, briefly), to end them at once when their session is killed or their credential
 * revoked, and to give back arguments the log does not hold.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import type { Decision } from '../spec/decision.js';
import type { CallState, OpenCallRequestSchema } from '../spec/remote-call.js';
import type { ToolCall, ToolRef } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import type { CallerRef, CallRequest, CallResult } from './types.js';

export interface CallRecords {
  readonly intent?: CallIntentEvent;
  readonly outcome?: CallOutcomeEvent;
}

/** The intent and outcome of one call of a session (the session's index narrows, the decision id picks). */
export async function findCallRecords(
  audit: AuditLog,
  sessionId: string,
  decisionId: string,
): Promise<CallRecords> {
  // newest first: should an id ever be reused (decision 0021), the latest call is the one asked about
  const records = await audit.query({ sessionId, decisionId, order: 'desc', limit: 10 });
  let outcome: CallOutcomeEvent | undefined;
  for (const { event } of records) {
    if (event.kind === 'call-outcome' && event.decisionId === decisionId) outcome ??= event;
    if (event.kind === 'call-intent' && event.decisionId === decisionId)
      return outcome ? { intent: event, outcome } : { intent: event };
  }
  return {};
}

/**
 * The decision id of a call the caller names (`callId`, the framework's tool-call id): the same for the
 * same agent, session and id, in every process, so opening it again finds the first one.
 */
export function keyedDecisionId(agentId: string, sessionId: string, callId: string): string {
  const hex = createHash('sha256').update(`reins-call\0${agentId}\0${sessionId}\0${callId}`).digest('hex');
  // shaped like a UUID (version nibble 8: custom), so it sits among random ones unremarked
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** A call's state from its recorded outcome. */
export function stateOfOutcome(intent: CallIntentEvent, outcome: CallOutcomeEvent): CallState {
  const base = {
    id: intent.decisionId,
    effect: intent.decision.effect,
    tool: toolName(intent.tool),
  } as const;
  if (outcome.outcome === 'ok')
    return { ...base, status: 'completed', outcome: 'ok', output: outcome.result };
  if (outcome.outcome === 'error')
    return { ...base, status: 'failed', outcome: 'error', error: outcome.error ?? 'failed' };
  return { ...base, status: 'denied', outcome: outcome.outcome, reason: outcome.error ?? outcome.outcome };
}

/** A call's state from what the pipeline returned (`decided` is undefined for a request that was invalid). */
export function stateOfResult(
  id: string,
  decided: { readonly call: ToolCall; readonly decision: Pick<Decision, 'effect'> } | undefined,
  result: CallResult,
): CallState {
  const base = {
    id,
    effect: decided?.decision.effect ?? result.decision.effect,
    tool: decided === undefined ? '(invalid)' : toolName(decided.call.tool),
  } as const;
  if (result.status === 'ok')
    return { ...base, status: 'completed', outcome: result.outcome, output: result.output };
  if (result.status === 'error')
    return { ...base, status: 'failed', outcome: result.outcome, error: result.error };
  return { ...base, status: 'denied', outcome: result.outcome, reason: result.reason };
}

export function toolName(tool: ToolRef): string {
  return `${tool.server}/${tool.name}`;
}

/** Calls this process opened and has not seen end, bounded in number and age (the store stays the truth). */
export class OpenCallMemory<T extends { readonly openedAt: number; forget(): void }> {
  private readonly calls = new Map<string, T>();

  constructor(
    private readonly maxCalls = 10_000,
    private readonly maxAgeMs = 60 * 60_000,
  ) {}

  get(id: string): T | undefined {
    return this.calls.get(id);
  }

  set(id: string, call: T, now: number): void {
    this.remove(id);
    this.calls.set(id, call);
    this.trim(now);
  }

  remove(id: string): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    call.forget();
  }

  entries(): IterableIterator<[string, T]> {
    return this.calls.entries();
  }

  /** Oldest first (insertion order): past the bound or the age, they leave memory (not the store). */
  private trim(now: number): void {
    for (const [id, call] of this.calls) {
      if (this.calls.size <= this.maxCalls && now - call.openedAt <= this.maxAgeMs) break;
      this.remove(id);
    }
  }
}

/** Runs one task per key at a time in this process (opening, waiting on or completing the same call). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Waits for `key`, then holds it until the returned function is called. */
  acquire(key: string): Promise<() => void> {
    return new Promise((acquired) => {
      void this.run(key, () => new Promise<void>((released) => acquired(() => released())));
    });
  }
}

/**
 * The harness request for a call an agent opens (remote protocol and in-process governor alike): the
 * caller's verified identity and session, never any the request names.
 */
export function openRequestOf(
  caller: CallerRef,
  request: z.output<typeof OpenCallRequestSchema>,
): CallRequest {
  const { tool, args, userInput, inputs } = request;
  const slash = tool.indexOf('/');
  return {
    principal: caller.principal,
    sessionId: caller.sessionId,
    tool: { server: tool.slice(0, slash), name: tool.slice(slash + 1) },
    args,
    ...(caller.credential ? { credential: caller.credential } : {}),
    ...(userInput !== undefined ? { trustedInput: userInput } : {}),
    ...(inputs !== undefined ? { provenance: { inputs } } : {}),
  };
}
