/**
 * @module policy/reversal
 * A catalogue entry's `reversal` (spec/reversal), compiled: the capture reads a call needs before it
 * runs, whether the captured state can be restored exactly, the compensation steps that undo the call,
 * and the resources it changes. The CEL expressions are type-checked when the policy loads and
 * evaluated here with errors as values (a failure to evaluate is never a silent "nothing to undo").
 *
 * The harness takes the captures and records them with the intent; the rollback (rollback/) builds the
 * compensation from the recorded call, its result and the captured state.
 */
import type { CompensationDocument, ReversalDocument, ReversalFacts } from '../spec/reversal.js';
import {
  type Activation,
  type CompiledExpression,
  compileReversalExpression,
  type ReversalPosition,
} from './conditions.js';
import { toJson } from './reversal-functions.js';

/** The call a reversal is evaluated for (the CEL variables `args` and `call`). */
export interface ReversalCall {
  readonly decisionId: string;
  readonly sessionId: string;
  readonly server: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** A read to take before the call runs: a tool of the same server. */
export interface CaptureCall {
  readonly name: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** What a capture read returned (the CEL value `captured.<name>`, and `capture` in `accept`). */
export interface CapturedValue {
  readonly ok: boolean;
  /** The tool's result (for MCP: the CallToolResult), when it returned one. */
  readonly result?: unknown;
  /** The failure's text, when it failed. */
  readonly error?: string;
}

/** A call that undoes (part of) another: a tool of the same server, with its arguments. */
export interface CompensationCall {
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

export type Evaluated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface CompiledReversal {
  readonly kind: 'compensation' | 'irreversible' | 'external';
  /** Why it cannot be undone (`irreversible`, `external`). */
  readonly reason?: string;
  /** Does the call need captures before it runs? */
  readonly capturesState: boolean;
  /** Running the compensation twice leaves the same state. */
  readonly idempotent: boolean;
  /** The capture reads for this call, arguments evaluated. */
  captures(call: ReversalCall): Evaluated<CaptureCall[]>;
  /** Is this capture usable (its `accept`, default `capture.ok`)? */
  accepts(name: string, captured: CapturedValue, call: ReversalCall): Evaluated<boolean>;
  /** The call's reversibility once its captures are taken (`exact`); `captured` empty without captures. */
  facts(call: ReversalCall, captured: Readonly<Record<string, CapturedValue>>): ReversalFacts;
  /** The compensation steps whose `when` holds, arguments evaluated; empty: nothing to undo. */
  compensation(
    call: ReversalCall,
    result: unknown,
    captured: Readonly<Record<string, CapturedValue>>,
  ): Evaluated<CompensationCall[]>;
  /** The resources the call changes (empty without `resources`). */
  resources(call: ReversalCall): Evaluated<string[]>;
}

/** A problem of a reversal found when it compiles: where in it (a path below `reversal`) and what. */
export interface ReversalProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Offset of the problem in the expression's text. */
  readonly offset: number;
}

export type CompileReversalResult =
  | { readonly ok: true; readonly reversal: CompiledReversal }
  | { readonly ok: false; readonly problems: readonly ReversalProblem[] };

/**
 * Compiles a validated `reversal` (spec/reversal's ReversalSchema output): every expression is
 * type-checked for its place; all problems are reported.
 */
export function compileReversal(document: ReversalDocument): CompileReversalResult {
  if ('irreversible' in document)
    return { ok: true, reversal: new FinalReversal('irreversible', document.irreversible) };
  if ('external' in document) return { ok: true, reversal: new FinalReversal('external', document.external) };
  const compiler = new ReversalCompiler();
  const names = new Set<string>();
  const captures = document.capture.map((step, index): CompiledCapture => {
    if (names.has(step.name))
      compiler.problem(['capture', index, 'name'], `capture \`${step.name}\` is already named`);
    names.add(step.name);
    const at = ['capture', index];
    return {
      name: step.name,
      tool: step.tool,
      args: compiler.args(step.args, at, 'capture-args'),
      accept: compiler.optional(step.accept, 'accept', [...at, 'accept']),
    };
  });
  const steps = document.compensate.map(
    (step, index): CompiledStep => ({
      tool: step.tool,
      args: compiler.args(step.args, ['compensate', index], 'step-args'),
      when: compiler.optional(step.when, 'when', ['compensate', index, 'when']),
    }),
  );
  const exact = compiler.optional(document.exact, 'exact', ['exact']);
  const resources = compiler.optional(document.resources, 'resources', ['resources']);
  if (compiler.problems.length > 0) return { ok: false, problems: compiler.problems };
  return { ok: true, reversal: new Compensation(document, captures, steps, exact, resources) };
}

/**
 * Compiles the expressions of one reversal, collecting problems. An expression that does not compile
 * is kept as one that always fails, so the caller can build the rest; a reversal with problems is
 * never returned.
 */
class ReversalCompiler {
  readonly problems: ReversalProblem[] = [];

  problem(path: readonly (string | number)[], message: string, offset = 0): void {
    this.problems.push({ path, message, offset });
  }

  expression(
    source: string,
    position: ReversalPosition,
    path: readonly (string | number)[],
  ): NamedExpression {
    const compiled = compileReversalExpression(source, position);
    if (compiled.ok) return new NamedExpression(path.join('.'), compiled.expression);
    this.problem(path, compiled.message, compiled.offset);
    return new NamedExpression(path.join('.'), {
      source,
      evaluate: () => ({ ok: false, error: compiled.message }),
    });
  }

  optional(
    source: string | undefined,
    position: ReversalPosition,
    path: readonly (string | number)[],
  ): NamedExpression | undefined {
    return source === undefined ? undefined : this.expression(source, position, path);
  }

  args(
    args: Record<string, string>,
    at: readonly (string | number)[],
    position: ReversalPosition,
  ): CompiledArg[] {
    return Object.entries(args).map(([name, source]) => ({
      name,
      expression: this.expression(source, position, [...at, 'args', name]),
    }));
  }
}

/** What a decision assumes when the call's captures are not known (dry runs, policy tests, replays). */
export function staticFacts(reversal: CompiledReversal | undefined): ReversalFacts {
  if (reversal === undefined)
    return {
      kind: 'undeclared',
      reversible: false,
      reason: 'the catalogue does not say how to undo this tool',
    };
  if (reversal.kind === 'compensation') return REVERSIBLE;
  return { kind: reversal.kind, reversible: false, reason: reversal.reason ?? reversal.kind };
}

const REVERSIBLE: ReversalFacts = { kind: 'reversible', reversible: true };

/** An expression with the place it stands in the reversal, for error messages. */
class NamedExpression {
  constructor(
    readonly at: string,
    private readonly expression: CompiledExpression<unknown>,
  ) {}

  evaluate(activation: Activation): Evaluated<unknown> {
    const result = this.expression.evaluate(activation);
    return result.ok ? result : { ok: false, error: `\`${this.at}\`: ${result.error}` };
  }

  /** A bool, or an error saying what came back instead. */
  test(activation: Activation): Evaluated<boolean> {
    const result = this.evaluate(activation);
    if (!result.ok || typeof result.value === 'boolean') return result as Evaluated<boolean>;
    return { ok: false, error: `\`${this.at}\`: returned ${describeKind(result.value)}, not a bool` };
  }
}

interface CompiledArg {
  readonly name: string;
  readonly expression: NamedExpression;
}

interface CompiledCapture {
  readonly name: string;
  readonly tool: string;
  readonly args: readonly CompiledArg[];
  readonly accept: NamedExpression | undefined;
}

interface CompiledStep {
  readonly tool: string;
  readonly args: readonly CompiledArg[];
  readonly when: NamedExpression | undefined;
}

/** `irreversible` and `external`: nothing to capture, nothing to run. */
class FinalReversal implements CompiledReversal {
  readonly capturesState = false;
  readonly idempotent = false;

  constructor(
    readonly kind: 'irreversible' | 'external',
    readonly reason: string,
  ) {}

  captures(): Evaluated<CaptureCall[]> {
    return { ok: true, value: [] };
  }

  accepts(name: string): Evaluated<boolean> {
    return { ok: false, error: `no capture named \`${name}\`: the tool is ${this.kind}` };
  }

  facts(): ReversalFacts {
    return { kind: this.kind, reversible: false, reason: this.reason };
  }

  compensation(): Evaluated<CompensationCall[]> {
    return { ok: false, error: `the call cannot be undone (${this.kind}: ${this.reason})` };
  }

  resources(): Evaluated<string[]> {
    return { ok: true, value: [] };
  }
}

/** A compensation: captures before the call, steps that undo it. */
class Compensation implements CompiledReversal {
  readonly kind = 'compensation';
  readonly capturesState: boolean;
  readonly idempotent: boolean;
  private readonly inexact: string;

  constructor(
    document: CompensationDocument,
    private readonly captureSteps: readonly CompiledCapture[],
    private readonly steps: readonly CompiledStep[],
    private readonly exact: NamedExpression | undefined,
    private readonly resourceList: NamedExpression | undefined,
  ) {
    this.capturesState = captureSteps.length > 0;
    this.idempotent = document.idempotent;
    this.inexact = document.inexact ?? 'the compensation cannot restore the state exactly';
  }

  captures(call: ReversalCall): Evaluated<CaptureCall[]> {
    const activation = callActivation(call);
    const reads: CaptureCall[] = [];
    for (const step of this.captureSteps) {
      const args = evaluateArgs(step.args, activation);
      if (!args.ok) return args;
      reads.push({ name: step.name, tool: step.tool, args: args.value });
    }
    return { ok: true, value: reads };
  }

  accepts(name: string, captured: CapturedValue, call: ReversalCall): Evaluated<boolean> {
    const step = this.captureSteps.find((candidate) => candidate.name === name);
    if (step === undefined) return { ok: false, error: `no capture named \`${name}\`` };
    if (step.accept === undefined) return { ok: true, value: captured.ok === true };
    return step.accept.test({ ...callActivation(call), capture: capturedActivation(captured) });
  }

  facts(call: ReversalCall, captured: Readonly<Record<string, CapturedValue>>): ReversalFacts {
    for (const step of this.captureSteps) {
      const value = captured[step.name];
      if (value === undefined)
        return unavailable(`capture \`${step.name}\` was not taken: the state to restore is unknown`);
      const accepted = this.accepts(step.name, value, call);
      if (!accepted.ok) return unavailable(accepted.error);
      if (!accepted.value)
        return unavailable(`capture \`${step.name}\` is not usable: ${value.error ?? 'not accepted'}`);
    }
    if (this.exact === undefined) return REVERSIBLE;
    const exact = this.exact.test({ ...callActivation(call), captured: capturedMap(captured) });
    if (!exact.ok) return unavailable(exact.error);
    return exact.value ? REVERSIBLE : unavailable(this.inexact);
  }

  compensation(
    call: ReversalCall,
    result: unknown,
    captured: Readonly<Record<string, CapturedValue>>,
  ): Evaluated<CompensationCall[]> {
    const activation = { ...callActivation(call), result: result ?? null, captured: capturedMap(captured) };
    const calls: CompensationCall[] = [];
    for (const step of this.steps) {
      if (step.when !== undefined) {
        const applies = step.when.test(activation);
        if (!applies.ok) return applies;
        if (!applies.value) continue;
      }
      const args = evaluateArgs(step.args, activation);
      if (!args.ok) return args;
      calls.push({ tool: step.tool, args: args.value });
    }
    return { ok: true, value: calls };
  }

  resources(call: ReversalCall): Evaluated<string[]> {
    if (this.resourceList === undefined) return { ok: true, value: [] };
    const result = this.resourceList.evaluate(callActivation(call));
    if (!result.ok) return result;
    const list = result.value;
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))
      return {
        ok: false,
        error: `\`${this.resourceList.at}\`: returned ${describeKind(list)}, not a list of strings`,
      };
    return { ok: true, value: [...new Set(list as string[])] };
  }
}

function unavailable(reason: string): ReversalFacts {
  return { kind: 'unavailable', reversible: false, reason };
}

/** Step arguments: each expression evaluated and turned into JSON. */
function evaluateArgs(
  args: readonly CompiledArg[],
  activation: Activation,
): Evaluated<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const arg of args) {
    const result = arg.expression.evaluate(activation);
    if (!result.ok) return result;
    const json = toJson(result.value);
    if (!json.ok) return { ok: false, error: `\`${arg.expression.at}\`: ${json.error}` };
    values[arg.name] = json.value;
  }
  return { ok: true, value: values };
}

function callActivation(call: ReversalCall): Activation {
  return {
    args: call.args,
    call: { decisionId: call.decisionId, sessionId: call.sessionId, server: call.server, name: call.name },
  };
}

/** `{ok, result, error}` with every field present (`null`, `""` when absent), as documented. */
function capturedActivation(captured: CapturedValue): Record<string, unknown> {
  return { ok: captured.ok === true, result: captured.result ?? null, error: captured.error ?? '' };
}

function capturedMap(captured: Readonly<Record<string, CapturedValue>>): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(captured)) map[name] = capturedActivation(value);
  return map;
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list of other values';
  return `a ${typeof value}`;
}
