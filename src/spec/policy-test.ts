/**
 * @module spec/policy-test
 * Policy unit tests (`kind: PolicyTest`): a policy path and test cases, each a sequence of calls with
 * the decision expected for each. Calls that are let through become the session's history and count
 * towards limits, so sequence and limit rules can be tested as well as single calls.
 */
import { z } from 'zod';
import { DurationSchema } from './duration.js';
import { EffectSchema, POLICY_API_VERSION } from './policy-document.js';
import { SessionStatusSchema, ToolCallSchema } from './tool-call.js';

export const ExpectationSchema = z.union([
  EffectSchema.transform((effect) => ({ effect })),
  z.strictObject({
    effect: EffectSchema,
    /** These rule ids must be among the matched rules. */
    rules: z.array(z.string()).optional(),
    /** The shadow verdict must have this effect. */
    shadow: EffectSchema.optional(),
    /** Some reason must contain this text. */
    reason: z.string().optional(),
  }),
]);
export type Expectation = z.output<typeof ExpectationSchema>;

export const PolicyTestStepSchema = z.strictObject({
  /** Move the test clock forward before this call (e.g. `2h`). */
  advance: DurationSchema.optional(),
  call: ToolCallSchema,
  expect: ExpectationSchema,
});
export type PolicyTestStep = z.output<typeof PolicyTestStepSchema>;

export const PolicyTestCaseSchema = z
  .strictObject({
    name: z.string().min(1),
    /** Start time of the test clock (ISO 8601); default 2026-01-01T09:00:00Z, a Thursday morning. */
    now: z.iso.datetime({ offset: true }).optional(),
    session: z
      .strictObject({
        status: SessionStatusSchema.default('active'),
        labels: z.array(z.string()).default([]),
      })
      .optional(),
    steps: z.array(PolicyTestStepSchema).min(1).optional(),
    /** Shorthand for a single step: `call` and `expect` instead of `steps`. */
    call: ToolCallSchema.optional(),
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
    } else if (test.steps === undefined && (test.call === undefined || test.expect === undefined)) {
      context.issues.push({
        code: 'custom',
        input: test,
        message: 'a test needs `steps`, or `call` and `expect`',
      });
    }
  })
  .transform(({ call, expect, steps, ...rest }) => ({
    ...rest,
    steps: steps ?? (call && expect ? [{ call, expect }] : []),
  }));
export type PolicyTestCase = z.output<typeof PolicyTestCaseSchema>;

export const PolicyTestFileSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION),
  kind: z.literal('PolicyTest'),
  /** Policy file or directory, relative to the test file. */
  policy: z.string().min(1),
  tests: z.array(PolicyTestCaseSchema).min(1),
});
export type PolicyTestFile = z.output<typeof PolicyTestFileSchema>;

export const DEFAULT_TEST_TIME = '2026-01-01T09:00:00Z';
