/**
 * @module harness/call-tracing
 * The spans of one call through the pipeline (OpenTelemetry, `@opentelemetry/api` only): a root span
 * (`reins.call`, `reins.open`, `reins.complete`) under the caller's trace context, and one child span
 * per stage (`reins.decide`, `reins.capture`, `reins.record-intent`, `reins.gate`, `reins.execute`,
 * `reins.filter-output`, `reins.record-outcome`). A call's trace exists only when the harness was
 * given a tracer: without one the harness creates none of this (no span, no attribute, no closure).
 *
 * Spans carry names and ids (tool, session, agent, decision, rules, effect, outcome), never argument
 * values, results, reasons or credentials: a trace backend is not the audit log and holds no secrets.
 */
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Decision } from '../spec/decision.js';
import type { ToolCall } from '../spec/tool-call.js';

export type StageName =
  | 'decide'
  | 'capture'
  | 'record-intent'
  | 'gate'
  | 'execute'
  | 'filter-output'
  | 'record-outcome';

/** Span attribute names (one place, so that the docs and the dashboards agree). */
export const CALL_ATTRIBUTES = {
  server: 'reins.tool.server',
  tool: 'reins.tool.name',
  session: 'reins.session.id',
  agent: 'reins.agent.id',
  decision: 'reins.decision.id',
  effect: 'reins.decision.effect',
  decidedBy: 'reins.decision.decided_by',
  outcome: 'reins.call.outcome',
  kind: 'reins.call.kind',
} as const;

/**
 * The spans of one call. Stages run one after another, so one stage span is open at a time: `stage`
 * ends the one before it, `end` ends the last one and the root.
 */
export class CallTrace {
  private readonly root: Span;
  private readonly rootContext: Context;
  private current: Span | undefined;
  private currentContext: Context | undefined;

  /** `parent`: the caller's trace context; without one, whatever context is active. */
  constructor(
    private readonly tracer: Tracer,
    name: string,
    parent: Context | undefined,
    attributes?: Attributes,
  ) {
    const parentContext = parent ?? context.active();
    const options =
      attributes === undefined ? { kind: SpanKind.SERVER } : { kind: SpanKind.SERVER, attributes };
    this.root = tracer.startSpan(name, options, parentContext);
    this.rootContext = trace.setSpan(parentContext, this.root);
  }

  /** Starts the span of `stage` (ending the stage before it). */
  stage(stage: StageName): void {
    this.endStage();
    // the tool's upstream is called from the execute stage: a client span, the upstream's is its child
    const kind = stage === 'execute' ? SpanKind.CLIENT : SpanKind.INTERNAL;
    this.current = this.tracer.startSpan(`reins.${stage}`, { kind }, this.rootContext);
    this.currentContext = undefined;
  }

  /** Runs `task` with the current stage's span active (what an upstream request propagates). */
  within<T>(task: () => T): T {
    if (this.current === undefined) return context.with(this.rootContext, task);
    this.currentContext ??= trace.setSpan(this.rootContext, this.current);
    return context.with(this.currentContext, task);
  }

  /** What was decided: who calls which tool, and the decision's effect and rules. */
  decided(decisionId: string, call: ToolCall | undefined, decision: Decision): void {
    const attributes: Attributes = {
      [CALL_ATTRIBUTES.decision]: decisionId,
      [CALL_ATTRIBUTES.effect]: decision.effect,
      [CALL_ATTRIBUTES.decidedBy]: [...decision.decidedBy],
    };
    if (call !== undefined) {
      attributes[CALL_ATTRIBUTES.server] = call.tool.server;
      attributes[CALL_ATTRIBUTES.tool] = call.tool.name;
      attributes[CALL_ATTRIBUTES.session] = call.sessionId;
      attributes[CALL_ATTRIBUTES.agent] = call.principal.agentId;
    }
    this.root.setAttributes(attributes);
  }

  /** Ends the stage under way and the call, with its outcome; `error`: the pipeline failed (not a denial). */
  end(outcome: string | undefined, error?: string): void {
    this.endStage();
    if (outcome !== undefined) this.root.setAttribute(CALL_ATTRIBUTES.outcome, outcome);
    // the status says the call failed; its message is a code, not the (possibly quoting) error text
    if (error !== undefined) this.root.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.root.end();
  }

  private endStage(): void {
    this.current?.end();
    this.current = undefined;
    this.currentContext = undefined;
  }
}

/** A call's trace, if the harness traces (`tracer` given); undefined costs nothing further. */
export function startCallTrace(
  tracer: Tracer | undefined,
  name: string,
  parent: Context | undefined,
  attributes?: Attributes,
): CallTrace | undefined {
  return tracer === undefined ? undefined : new CallTrace(tracer, name, parent, attributes);
}
