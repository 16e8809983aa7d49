/**
 * @module policy/conditions
 * CEL conditions: the environment a policy author writes against (declared, typed variables), type
 * checking at load time, and evaluation that reports errors as values instead of throwing. Reversal
 * expressions (a catalogue entry's `reversal`) have environments of their own, one per place in the
 * reversal, so that naming what is not known there (`result` in a capture) is a load error.
 */
import { Environment } from '@marcbachmann/cel-js';
import { describeError } from '../spec/errors.js';
import { base64Utf8, basename, dirname, isBase64Utf8, normalizePath } from './reversal-functions.js';

const ENVIRONMENT_OPTIONS = {
  homogeneousAggregateLiterals: false,
  limits: { maxAstNodes: 2_000, maxDepth: 64 },
} as const;

/** The variables every condition can use; documented in docs/policy.md. */
function baseEnvironment(): Environment {
  return new Environment(ENVIRONMENT_OPTIONS)
    .registerVariable({
      name: 'principal',
      schema: {
        agentId: 'string',
        roles: 'list<string>',
        owner: 'string',
        delegatedBy: 'list<string>',
        delegationDepth: 'int',
        scopes: 'list<string>',
      },
    })
    .registerVariable({
      name: 'tool',
      schema: {
        server: 'string',
        name: 'string',
        risk: 'string',
        effects: 'list<string>',
        untrustedOutput: 'bool',
      },
    })
    .registerVariable('args', 'map<string, dyn>')
    .registerVariable('context', 'map<string, dyn>')
    .registerVariable({
      name: 'session',
      schema: {
        id: 'string',
        callCount: 'int',
        labels: 'list<string>',
        startedAt: 'google.protobuf.Timestamp',
      },
    })
    .registerVariable('now', 'google.protobuf.Timestamp')
    .registerVariable({ name: 'reversal', schema: { reversible: 'bool', kind: 'string' } });
}

/**
 * Each environment is built when an expression first needs it, not when this module loads: building
 * one takes milliseconds, and most starts (`reins policy check`, `reins mcp`) need few of them or none.
 */
function once(build: () => Environment): () => Environment {
  let environment: Environment | undefined;
  return () => {
    environment ??= build();
    return environment;
  };
}

const conditionEnvironment = once(baseEnvironment);
/** Sequence rules also see the earlier call they are testing as `prior`. */
const sequenceEnvironment = once(() =>
  baseEnvironment().registerVariable({
    name: 'prior',
    schema: {
      tool: { server: 'string', name: 'string' },
      args: 'map<string, dyn>',
      at: 'google.protobuf.Timestamp',
    },
  }),
);

export type ExpressionPurpose = 'condition' | 'sequence-condition' | 'amount';

/** Values bound to the variables above for one evaluation. */
export type Activation = Record<string, unknown>;

export type EvaluationResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** A type-checked expression, ready to evaluate many times. */
export interface CompiledExpression<T> {
  readonly source: string;
  evaluate(activation: Activation): EvaluationResult<T>;
}

export type CompileResult<T> =
  | { ok: true; expression: CompiledExpression<T> }
  | { ok: false; message: string; offset: number };

const EXPECTED_TYPES: Record<ExpressionPurpose, readonly string[]> = {
  condition: ['bool', 'dyn'],
  'sequence-condition': ['bool', 'dyn'],
  amount: ['int', 'uint', 'double', 'dyn'],
};

/** Parses and type-checks `source`; a condition must be boolean, an amount numeric. */
export function compileExpression<T extends boolean | number>(
  source: string,
  purpose: ExpressionPurpose,
): CompileResult<T> {
  const environment = purpose === 'sequence-condition' ? sequenceEnvironment() : conditionEnvironment();
  const checked = typeCheck(environment, source);
  if (!checked.ok) return checked;
  const expected = EXPECTED_TYPES[purpose];
  if (!expected.includes(checked.type)) {
    const wanted = purpose === 'amount' ? 'a number' : 'a bool';
    return {
      ok: false,
      message: `expression has type \`${checked.type}\`, expected ${wanted}`,
      offset: 0,
    };
  }
  const program = environment.parse(source);
  const convert = purpose === 'amount' ? toAmount : toBoolean;
  return {
    ok: true,
    expression: {
      source,
      evaluate(activation) {
        try {
          return convert(program(activation)) as EvaluationResult<T>;
        } catch (error) {
          return { ok: false, error: describeError(error) };
        }
      },
    },
  };
}

/** The expression's type, or where and why it does not type-check. */
function typeCheck(
  environment: Environment,
  source: string,
): { ok: true; type: string } | { ok: false; message: string; offset: number } {
  let checked: ReturnType<Environment['check']>;
  try {
    checked = environment.check(source);
  } catch (error) {
    return { ok: false, message: describeError(error), offset: 0 };
  }
  if (!checked.valid) {
    const error = checked.error as { message: string; range?: { start: number } } | undefined;
    return {
      ok: false,
      message: (error?.message ?? 'invalid expression').split('\n')[0] ?? 'invalid expression',
      offset: error?.range?.start ?? 0,
    };
  }
  return { ok: true, type: String(checked.type) };
}

function toBoolean(value: unknown): EvaluationResult<boolean> {
  if (typeof value === 'boolean') return { ok: true, value };
  return { ok: false, error: `condition returned ${describeValueType(value)}, not a bool` };
}

function toAmount(value: unknown): EvaluationResult<number> {
  const amount = typeof value === 'bigint' ? Number(value) : value;
  if (typeof amount === 'number' && Number.isFinite(amount)) return { ok: true, value: amount };
  return { ok: false, error: `amount returned ${describeValueType(value)}, not a finite number` };
}

function describeValueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/**
 * Where in a reversal an expression stands; each place sees its own variables:
 * - `capture-args`, `resources`: `args`, `call`;
 * - `accept`: those and `capture` (the read just taken);
 * - `exact`: those and `captured` (every read taken);
 * - `when`, `step-args`: those and `result` (the call's result as recorded).
 */
export type ReversalPosition = 'capture-args' | 'accept' | 'exact' | 'when' | 'step-args' | 'resources';

/** `args`, `call` and the helper functions; documented in docs/policy.md. */
function reversalBase(): Environment {
  return new Environment(ENVIRONMENT_OPTIONS)
    .registerVariable('args', 'map<string, dyn>')
    .registerVariable({
      name: 'call',
      schema: { decisionId: 'string', sessionId: 'string', server: 'string', name: 'string' },
    })
    .registerFunction('dirname(string): string', dirname)
    .registerFunction('basename(string): string', basename)
    .registerFunction('normalizePath(string): string', normalizePath)
    .registerFunction('base64Utf8(string): string', base64Utf8)
    .registerFunction('isBase64Utf8(string): bool', isBase64Utf8);
}

const reversalEnvironments: Record<'plain' | 'accept' | 'exact' | 'compensate', () => Environment> = {
  plain: once(reversalBase),
  accept: once(() =>
    reversalBase().registerVariable({
      name: 'capture',
      schema: { ok: 'bool', result: 'dyn', error: 'string' },
    }),
  ),
  exact: once(() => reversalBase().registerVariable('captured', 'map<string, dyn>')),
  compensate: once(() =>
    reversalBase().registerVariable('captured', 'map<string, dyn>').registerVariable('result', 'dyn'),
  ),
};

const REVERSAL_ENVIRONMENT: Record<ReversalPosition, keyof typeof reversalEnvironments> = {
  'capture-args': 'plain',
  resources: 'plain',
  accept: 'accept',
  exact: 'exact',
  when: 'compensate',
  'step-args': 'compensate',
};

/** What each place must return: a bool, a list (of strings, checked when evaluated), or any value. */
function reversalTypeProblem(position: ReversalPosition, type: string): string | undefined {
  if (position === 'accept' || position === 'exact' || position === 'when') {
    return type === 'bool' || type === 'dyn' ? undefined : `expression has type \`${type}\`, expected a bool`;
  }
  if (position === 'resources') {
    return type === 'dyn' || type === 'list' || type.startsWith('list<')
      ? undefined
      : `expression has type \`${type}\`, expected a list of strings`;
  }
  return undefined;
}

/**
 * Parses and type-checks a reversal expression for its place. The compiled expression returns the
 * raw CEL value (policy/reversal checks and converts it); evaluation errors are values.
 */
export function compileReversalExpression(
  source: string,
  position: ReversalPosition,
): CompileResult<unknown> {
  const environment = reversalEnvironments[REVERSAL_ENVIRONMENT[position]]();
  const checked = typeCheck(environment, source);
  if (!checked.ok) return checked;
  const problem = reversalTypeProblem(position, checked.type);
  if (problem !== undefined) return { ok: false, message: problem, offset: 0 };
  const program = environment.parse(source);
  return {
    ok: true,
    expression: {
      source,
      evaluate(activation) {
        try {
          return { ok: true, value: program(activation) };
        } catch (error) {
          return { ok: false, error: describeError(error) };
        }
      },
    },
  };
}
