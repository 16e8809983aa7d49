/**
 * @module policy/conditions
 * CEL conditions: the environment a policy author writes against (declared, typed variables), type
 * checking at load time, and evaluation that reports errors as values instead of throwing.
 */
import { Environment } from '@marcbachmann/cel-js';
import { describeError } from '../spec/errors.js';

/** The variables every condition can use; documented in docs/policy.md. */
function baseEnvironment(): Environment {
  return new Environment({
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 2_000, maxDepth: 64 },
  })
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
    .registerVariable('now', 'google.protobuf.Timestamp');
}

const conditionEnvironment = baseEnvironment();
/** Sequence rules also see the earlier call they are testing as `prior`. */
const sequenceEnvironment = baseEnvironment().registerVariable({
  name: 'prior',
  schema: {
    tool: { server: 'string', name: 'string' },
    args: 'map<string, dyn>',
    at: 'google.protobuf.Timestamp',
  },
});

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
  const environment = purpose === 'sequence-condition' ? sequenceEnvironment : conditionEnvironment;
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
  const expected = EXPECTED_TYPES[purpose];
  if (!expected.includes(String(checked.type))) {
    const wanted = purpose === 'amount' ? 'a number' : 'a bool';
    return {
      ok: false,
      message: `expression has type \`${String(checked.type)}\`, expected ${wanted}`,
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
