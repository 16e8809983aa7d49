/**
 * @module spec/remote-call
 * The wire format of the remote enforcement protocol (`/v1/calls` on the gateway's listener), shared by
 * the server (gateway/remote-calls), the in-process mode and the adapters. An agent opens a call (decided
 * and recorded before anything runs), waits while it is held for humans, runs the tool itself with the
 * arguments it was given, and reports the outcome; what it may use is the answer to that report.
 */
import { z } from 'zod';
import { OutcomeSchema } from './audit-event.js';

/** Longest client call id (the framework's tool-call id): it keys the call for idempotency. */
export const MAX_CALL_ID_LENGTH = 256;
/** Longest declared user request, in characters. */
export const MAX_USER_INPUT_LENGTH = 100_000;

/** Deepest nesting of a call's arguments (objects and arrays); deeper ones are refused as invalid. */
export const MAX_ARGUMENT_DEPTH = 64;

/** Whether `value` nests objects and arrays at most `max` levels deep (iterative: no stack to overflow). */
export function depthWithin(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= max) return false;
    for (const child of Object.values(current)) stack.push({ value: child, depth: depth + 1 });
  }
  return true;
}

/** `POST /v1/calls`: a tool call the agent wants to make. */
export const OpenCallRequestSchema = z.strictObject({
  /** `server/name`: the tool as the policy names it (split at the first `/`). */
  tool: z
    .string()
    .min(3)
    .max(512)
    // printable ASCII without spaces: what an approver reads is what the agent sent (no control codes)
    .regex(/^[!-.0-~]+\/[!-~]+$/, 'a tool is named `server/name` (printable ASCII, no spaces)'),
  args: z
    .record(z.string(), z.unknown())
    .default({})
    .refine(
      (args) => depthWithin(args, MAX_ARGUMENT_DEPTH),
      `arguments nested deeper than ${MAX_ARGUMENT_DEPTH} levels`,
    ),
  /**
   * The framework's id of this tool call. Opening it again (a re-run after an interruption, a resumed
   * run in another process) returns the same call instead of a new one, and only with the same
   * arguments: a call id reused for different arguments is refused.
   */
  callId: z.string().min(1).max(MAX_CALL_ID_LENGTH).optional(),
  /** The user's own request, declared as trusted input for the session before the call is decided. */
  userInput: z.string().max(MAX_USER_INPUT_LENGTH).optional(),
  /** Decision ids of earlier calls whose outputs fed this call's arguments (for the audit trail). */
  inputs: z.array(z.string().min(1).max(128)).max(100).optional(),
});
export type OpenCallRequest = z.input<typeof OpenCallRequestSchema>;

/** `POST /v1/calls/{id}/outcome`: what the tool did, as the agent ran it. */
export const OutcomeReportSchema = z.union([
  z.strictObject({ ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ ok: z.literal(false), error: z.string().max(100_000) }),
]);
export type OutcomeReport = z.infer<typeof OutcomeReportSchema>;

/** `POST /v1/calls/{id}/cancel`: the agent will not run the call (held or ready). */
export const CancelRequestSchema = z.strictObject({ reason: z.string().max(1_000).optional() });
export type CancelRequest = z.infer<typeof CancelRequestSchema>;

/**
 * Where a call stands:
 * - `ready`: run the tool now, with exactly `args`, then report the outcome;
 * - `held`: waiting for humans (wait with `GET /v1/calls/{id}`);
 * - `denied`: it must not run (`reason`; `outcome` is denied, expired, cancelled or abandoned);
 * - `completed`: its outcome is on record; `output` is what the agent may use;
 * - `failed`: the tool failed (or its output was withheld); `error` says why, screened.
 */
export const CallStatusSchema = z.enum(['ready', 'held', 'denied', 'completed', 'failed']);
export type CallStatus = z.infer<typeof CallStatusSchema>;

export const CallStateSchema = z.object({
  /** The call's id: its decision id in the audit log. */
  id: z.string(),
  status: CallStatusSchema,
  /** The policy's decision when the call was opened. */
  effect: z.enum(['allow', 'deny', 'approve']),
  tool: z.string(),
  /** Why it was denied or held. */
  reason: z.string().optional(),
  /** `ready`: the arguments to run the tool with (redacted where the policy says so). */
  args: z.record(z.string(), z.unknown()).optional(),
  /** `held`, `ready`: the hash an approval of this call is bound to. */
  callHash: z.string().optional(),
  /** `held`: when the approval request expires (ISO 8601). */
  expiresAt: z.string().optional(),
  /** The recorded outcome, once there is one. */
  outcome: OutcomeSchema.optional(),
  /** `completed`: the result as the agent may see it (filtered and redacted). */
  output: z.unknown().optional(),
  /** `failed`: the failure, screened. */
  error: z.string().optional(),
});
export type CallState = z.infer<typeof CallStateSchema>;

/** The error body of every refused request of the protocol. */
export const RemoteErrorSchema = z.object({ error: z.string(), message: z.string() });
export type RemoteError = z.infer<typeof RemoteErrorSchema>;

/** Why a request about a call is refused, and the HTTP status the protocol answers it with. */
export const CALL_REFUSAL_STATUS = {
  /** No such call of this agent in this session. */
  not_found: 404,
  /** A call id reused for a different call. */
  call_conflict: 409,
  /** The call takes no outcome now: held, refused, or completed already. */
  not_ready: 409,
  /** The store could not be read or written: nothing was assumed. */
  state_unavailable: 503,
} as const;
export type CallRefusalCode = keyof typeof CALL_REFUSAL_STATUS;
