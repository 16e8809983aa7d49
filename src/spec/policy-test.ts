/**
 * @module spec/policy-test
 * Policy unit tests (`kind: PolicyTest`): a policy path and test cases, each a sequence of calls with
 * the decision expected for each. Calls that are let through become the session's history and count
 * towards limits, so sequence and limit rules can be tested as well as single calls. A case can also
 * state the session's past as facts — earlier calls (`history`), outputs the agent saw (`seen`) and the
 * user's own request (`userInput`) — so sequence, limit and flow rules are testable without scripting
 * the calls that led there.
 */
import { z } from 'zod';
import { DurationSchema } from './duration.js';
import { EffectSchema, POLICY_API_VERSION } from './policy-document.js';
import { ReversalKindSchema } from './reversal.js';
import { type HistoryEntry, SessionStatusSchema, ToolCallSchema, ToolRefSchema } from './tool-call.js';

/** Start of the test clock unless a case says `now`: a Thursday morning. */
export const DEFAULT_TEST_TIME = '2026-01-01T09:00:00Z';

export const ExpectationSchema = z.union([
  EffectSchema.transform((effect) => ({ effect })),
  z.strictObject({
    effect: EffectSchema,
    /** These rule ids must be among the matched rules. */
    rules: z.array(z.string()).optional(),
    /**
     * These ids must be among those that determined the effect (`decision.decidedBy`): rule ids, or a
     * built-in such as `reins.redaction` (the argument screening) or `reins.default-deny`.
     */
    decidedBy: z.array(z.string()).optional(),
    /** These flow rules must each have reported a finding (`decision.flows`, enforced or shadow). */
    flows: z.array(z.string()).optional(),
    /** The shadow verdict must have this effect. */
    shadow: EffectSchema.optional(),
    /** Some reason must contain this text. */
    reason: z.string().optional(),
  }),
]);
export type Expectation = z.output<typeof ExpectationSchema>;

/**
 * The call's reversibility as the enforcement point would find it once it took the call's captures
 * (the CEL variable `reversal`), e.g. `unavailable` for a binary file write_file cannot write back.
 * Without it, a call sees what the policy declares for its tool (none: `undeclared`; a compensation:
 * `reversible`).
 */
const StepReversalSchema = ReversalKindSchema.optional();

export const PolicyTestStepSchema = z.strictObject({
  /** Move the test clock forward before this call (e.g. `2h`). */
  advance: DurationSchema.optional(),
  call: ToolCallSchema,
  reversal: StepReversalSchema,
  expect: ExpectationSchema,
});
export type PolicyTestStep = z.output<typeof PolicyTestStepSchema>;

const ArgsSchema = z.record(z.string(), z.unknown()).default({});
const TimestampSchema = z.iso.datetime({ offset: true });

/**
 * An earlier call of the session, stated as a fact: it is in the history that sequence rules read, and
 * counts towards limits as the policy counts a call it lets through (see the runner).
 */
export const PastCallSchema = z
  .strictObject({
    tool: ToolRefSchema,
    args: ArgsSchema,
    /** How long before the test's `now` the call started (e.g. `10m`). */
    ago: DurationSchema.optional(),
    /** Or when it started (ISO 8601), at or before the test's `now`. */
    at: TimestampSchema.optional(),
    /** `pending`: still running (`forbids` sees it, `requires` does not); `error`: it failed. */
    outcome: z.enum(['ok', 'error', 'pending']).default('ok'),
  })
  .check((context) => {
    if ((context.value.ago === undefined) === (context.value.at === undefined)) {
      context.issues.push({
        code: 'custom',
        input: context.value,
        message: 'say when the call was made: either `ago` (e.g. `10m`) or `at` (ISO 8601), not both',
      });
    }
  });
export type PastCall = z.output<typeof PastCallSchema>;

/**
 * An output the agent saw earlier in the session, indexed into the session's data flow as the harness
 * indexes a tool's result: the policy's catalogue entry for `tool` says whether it is untrusted text,
 * which fields are trusted, its labels and tenant.
 */
export const SeenOutputSchema = z.strictObject({
  tool: ToolRefSchema,
  /** The arguments of the call that returned it (a tenant may be read from them). */
  args: ArgsSchema,
  /** What the tool returned: any YAML value (text, a mapping, a list). */
  output: z.unknown().refine((value) => value !== undefined, {
    message: 'the output the agent saw is required (any YAML value)',
  }),
});
export type SeenOutput = z.output<typeof SeenOutputSchema>;

export const PolicyTestCaseSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Start time of the test clock (ISO 8601); default 2026-01-01T09:00:00Z, a Thursday morning. */
    now: TimestampSchema.optional(),
    session: z
      .strictObject({
        status: SessionStatusSchema.default('active'),
        labels: z.array(z.string()).default([]),
      })
      .optional(),
    /** Calls the session made before the test starts (for sequence and limit rules). */
    history: z.array(PastCallSchema).optional(),
    /** Outputs the agent saw before the test starts (for flow rules). */
    seen: z.array(SeenOutputSchema).optional(),
    /** The user's own request: values in it count as given by the user (trusted). */
    userInput: z.string().optional(),
    steps: z.array(PolicyTestStepSchema).min(1).optional(),
    /** Shorthand for a single step: `call` and `expect` (and `reversal`) instead of `steps`. */
    call: ToolCallSchema.optional(),
    reversal: StepReversalSchema,
    expect: ExpectationSchema.optional(),
  })
  .check((context) => {
    const test = context.value;
    const single = test.call !== undefined || test.expect !== undefined;
    if (test.steps !== undefined && single) {
      context.issues.push({
        code: 'custom',
        input: test,
        message: 'use either `steps` or `call` with `expect`, not both',
      });
    } else if (test.steps !== undefined && test.reversal !== undefined) {
      context.issues.push({
        code: 'custom',
        input: test,
        message: 'with `steps`, state `reversal` on each step it applies to',
      });
    } else if (test.steps === undefined && (test.call === undefined || test.expect === undefined)) {
      context.issues.push({
        code: 'custom',
        input: test,
        message: 'a test needs `steps`, or `call` and `expect`',
      });
    }
    const start = test.now ?? DEFAULT_TEST_TIME;
    // defensive: this check may see a case whose fields failed their own validation
    const history: unknown[] = Array.isArray(test.history) ? test.history : [];
    for (const [index, past] of history.entries()) {
      const at = (past as { at?: unknown } | null)?.at;
      if (typeof at === 'string' && Date.parse(at) > Date.parse(start)) {
        context.issues.push({
          code: 'custom',
          input: at,
          path: ['history', index, 'at'],
          message: `${at} is after the test starts (now: ${start}); history is what happened before`,
        });
      }
    }
  })
  .transform(({ call, expect, reversal, steps, now, history, ...rest }) => {
    const start = Date.parse(now ?? DEFAULT_TEST_TIME);
    return {
      ...rest,
      /** The test clock's start, epoch milliseconds. */
      start,
      /** The stated history, in the order stated, with times in epoch milliseconds. */
      history: pastCalls(history ?? [], start),
      steps: steps ?? (call && expect ? [{ call, expect, reversal }] : []),
    };
  });
export type PolicyTestCase = z.output<typeof PolicyTestCaseSchema>;

export const PolicyTestFileSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyTest'),
  /** Policy file or directory, relative to the test file. */
  policy: z.string().min(1),
  tests: z.array(PolicyTestCaseSchema).min(1),
});
export type PolicyTestFile = z.output<typeof PolicyTestFileSchema>;

/** History entries from the stated calls: `ago` and `at` become the time in epoch milliseconds. */
function pastCalls(calls: readonly PastCall[], start: number): HistoryEntry[] {
  return calls.map((past) => ({
    tool: past.tool,
    args: past.args,
    at: past.at !== undefined ? Date.parse(past.at) : start - (past.ago ?? 0),
    outcome: past.outcome,
  }));
}
