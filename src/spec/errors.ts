/**
 * @module spec/errors
 * Local errors carry a stable string code; messages are lowercase, without a final period,
 * with user input in backticks.
 */

export type ReinsErrorCode =
  | 'invalid_policy'
  | 'invalid_input'
  | 'audit_unavailable'
  | 'store_unavailable'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'expired'
  | 'store_schema_mismatch'
  | 'key_unavailable'
  | 'internal_error';

export class ReinsError extends Error {
  readonly code: ReinsErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ReinsErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ReinsError';
    this.code = code;
    this.details = details;
  }
}

/** Turns anything thrown into a one-line message (for diagnostics that must never throw themselves). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  try {
    return String(error);
  } catch {
    return 'unprintable error';
  }
}
