/**
 * @module spec/reversal
 * Reversibility (issue 16, decision 0022): how the policy says a tool's effect is undone, and what a
 * call's records say about it.
 *
 * In the policy, a catalogue entry's `reversal` is one of:
 * - `irreversible: <why>`: nothing can undo it;
 * - `external: <why>`: it acted outside (mail sent, post published) and cannot be recalled; a
 *   correction, if any, is a new action;
 * - a compensation: `capture` steps that read the state the call will change before it runs (tools of
 *   the same server), `compensate` steps that put it back (CEL over the call's arguments, its result
 *   and the captured state), `exact` saying when that restores the state exactly, and `resources`
 *   naming what the call changes (for conflicts between sessions).
 * The top-level `rollback:` section applies built-in profiles to servers and names who may roll back.
 *
 * Validation only: `policy/reversal` compiles the expressions, `rollback/` runs compensations.
 */
import { z } from 'zod';

const CelSchema = z.string().min(1, 'an expression cannot be empty');

/** A name usable in CEL as `captured.<name>`. */
const CaptureNameSchema = z
  .string()
  .regex(/^[a-z_][A-Za-z0-9_]*$/, 'use a lower-case letter or `_` first, then letters, digits and `_`');

/** Arguments of a step: each value is a CEL expression (use a quoted literal for a constant string). */
const StepArgsSchema = z.record(z.string().min(1), CelSchema);

/** Reads the state a call will change, before it runs, through a tool of the same server. */
export const CaptureStepSchema = z.strictObject({
  name: CaptureNameSchema,
  /** A tool of the same server (read only; its result is never shown to the agent). */
  tool: z.string().min(1),
  args: StepArgsSchema,
  /**
   * CEL over `capture` (`{ok, result, error}`): is this a usable capture? Default `capture.ok`. A capture
   * that is not usable (or cannot be taken) stops the call: it does not run.
   */
  accept: CelSchema.optional(),
});
export type CaptureStep = z.infer<typeof CaptureStepSchema>;

/** One call that undoes (part of) a call; all steps whose `when` holds run, in order. */
export const CompensationStepSchema = z.strictObject({
  /** A tool of the same server. */
  tool: z.string().min(1),
  args: StepArgsSchema,
  /** CEL over `args`, `result`, `captured`, `call`: run this step only if it holds. Default: always. */
  when: CelSchema.optional(),
});
export type CompensationStep = z.infer<typeof CompensationStepSchema>;

export const CompensationSchema = z.strictObject({
  capture: z.array(CaptureStepSchema).default([]),
  /** When no step's `when` holds, the call changed nothing that needs undoing (e.g. an edit's dry run). */
  compensate: z.array(CompensationStepSchema).min(1),
  /**
   * CEL over `args` and `captured`: do the steps restore the state exactly? Default true. When false
   * the call counts as not reversible (`inexact` says why), so a reversible-or-approved rule holds it.
   */
  exact: CelSchema.optional(),
  /** Why a call is not exactly reversible when `exact` is false (shown to operators and recorded). */
  inexact: z.string().min(1).optional(),
  /** CEL over `args` giving the list of resources (paths, names) the call changes, for conflicts. */
  resources: CelSchema.optional(),
  /** Running the steps twice leaves the same state: safe to run again after an interrupted rollback. */
  idempotent: z.boolean().default(false),
});
export type CompensationDocument = z.infer<typeof CompensationSchema>;

export const ReversalSchema = z.union([
  z.strictObject({ irreversible: z.string().min(1) }),
  z.strictObject({ external: z.string().min(1) }),
  CompensationSchema,
]);
export type ReversalDocument = z.infer<typeof ReversalSchema>;

/** The built-in profiles shipped with Reins (policy/reversal-profiles). */
export const REVERSAL_PROFILE_NAMES = ['server-filesystem', 'server-memory'] as const;
export const ReversalProfileNameSchema = z.enum(REVERSAL_PROFILE_NAMES);
export type ReversalProfileName = z.infer<typeof ReversalProfileNameSchema>;

/** The policy's `rollback:` section. */
export const RollbackSectionSchema = z.strictObject({
  /**
   * Built-in reversal profiles, each for the upstream servers it names (globs allowed). A catalogue
   * entry's own `reversal` wins over a profile's.
   */
  profiles: z
    .array(z.strictObject({ profile: ReversalProfileNameSchema, server: z.string().min(1) }))
    .default([]),
  /** Roles that may roll a session back (through the API and the console); `admin` always may. */
  operators: z.array(z.string().min(1)).default([]),
});
export type RollbackSection = z.infer<typeof RollbackSectionSchema>;

/**
 * What a call's reversibility is, as a decision sees it (the CEL variable `reversal`):
 * - `reversible`: a compensation is declared and its captures (if any) were taken and are exact;
 * - `irreversible`, `external`: as the catalogue says;
 * - `undeclared`: the catalogue says nothing about undoing this tool;
 * - `unavailable`: a compensation is declared but cannot be relied on for this call (its captures
 *   cannot be taken where the tool runs, or the state cannot be restored exactly).
 */
export const ReversalKindSchema = z.enum([
  'reversible',
  'irreversible',
  'external',
  'undeclared',
  'unavailable',
]);
export type ReversalKind = z.infer<typeof ReversalKindSchema>;

export interface ReversalFacts {
  readonly kind: ReversalKind;
  /** `kind === 'reversible'`. */
  readonly reversible: boolean;
  /** Why it is not reversible, when it is not. */
  readonly reason?: string;
}

/** One capture as the intent records it: what was read, its content hash, and a redacted preview. */
export const RecordedCaptureSchema = z.strictObject({
  name: z.string().min(1),
  /** The tool that was read (same server as the call). */
  tool: z.string().min(1),
  /** Its arguments, redacted like the call's. */
  args: z.record(z.string(), z.unknown()),
  /** Did the read succeed (a missing file is a read that failed, and a valid capture). */
  ok: z.boolean(),
  /** sha256 (hex) of the raw captured content, kept apart from the log by this hash. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Size of the raw captured content in bytes. */
  bytes: z.number().int().nonnegative(),
  /** A redacted, shortened view of what was read, for humans; the raw content is not in the log. */
  view: z.string(),
});
export type RecordedCapture = z.infer<typeof RecordedCaptureSchema>;

/** The `reversal` field of a `call-intent`. */
export const RecordedReversalSchema = z.strictObject({
  kind: ReversalKindSchema,
  reason: z.string().optional(),
  /** The captures taken before the call ran (absent: none were needed or taken). */
  captures: z.array(RecordedCaptureSchema).optional(),
});
export type RecordedReversal = z.infer<typeof RecordedReversalSchema>;

/** The `compensates` field of a `call-intent`: this call undoes another, for a rollback. */
export const CompensatesSchema = z.strictObject({
  /** The call it undoes (same agent, the rolled-back session). */
  decisionId: z.string().min(1),
  /** The session that is rolled back. */
  sessionId: z.string().min(1),
  /** The rollback this call is part of (the id of its `session.rollback` operator action). */
  rollbackId: z.string().min(1),
  /** The operator on whose authority it runs. */
  by: z.string().min(1),
  /** Which step of the compensation this is (from 0), of how many: a compensation is done when all are. */
  step: z.number().int().nonnegative(),
  steps: z.number().int().positive(),
});
export type Compensates = z.infer<typeof CompensatesSchema>;

/**
 * Where a session's compensations run: one rollback session per rolled-back session, in a namespace
 * Reins reserves (the harness refuses every other call there, so no agent can work in it or name it).
 */
export function rollbackSessionOf(sessionId: string): string {
  return `${ROLLBACK_SESSION_PREFIX}${sessionId}`;
}

const ROLLBACK_SESSION_PREFIX = 'reins.rollback/';

/** Is this a rollback session (reserved: only a rollback's compensations run in it)? */
export function isRollbackSession(sessionId: string): boolean {
  return sessionId.startsWith(ROLLBACK_SESSION_PREFIX);
}
