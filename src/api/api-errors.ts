/**
 * @module api/api-errors
 * The one error wire format of the control plane, `{"error":{"code","message","details"}}`, and the
 * mapping from error codes to HTTP statuses. `toWireError` is the single place where anything thrown
 * becomes a response: unknown errors are `internal_error` with a generic message, so internals (stack
 * traces, SQL, file paths) never leak to the caller.
 */
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import { ReinsError } from '../spec/errors.js';

export const ApiErrorCodeSchema = z.enum([
  'unauthenticated',
  'forbidden',
  'csrf_failed',
  'not_found',
  'conflict',
  'expired',
  'invalid_input',
  'payload_too_large',
  'unsupported_media_type',
  'unavailable',
  'internal_error',
]);
export type ApiErrorCode = z.infer<typeof ApiErrorCodeSchema>;

export const ApiErrorSchema = z.strictObject({
  error: z.strictObject({
    /** Stable snake_case code; branch on this, not on the message. */
    code: ApiErrorCodeSchema,
    /** For humans: lowercase, no final period, user input in backticks. */
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorSchema>;

const STATUS: Record<ApiErrorCode, ContentfulStatusCode> = {
  unauthenticated: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  expired: 410,
  invalid_input: 400,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unavailable: 503,
  internal_error: 500,
};

/** An error the API means to send as is. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get status(): ContentfulStatusCode {
    return STATUS[this.code];
  }
}

/** Maps anything thrown to a status and a body; `onInternal` hears what was hidden from the caller. */
export function toWireError(
  error: unknown,
  onInternal?: (error: unknown) => void,
): { status: ContentfulStatusCode; body: ApiErrorBody } {
  const wire = (code: ApiErrorCode, message: string, details?: Record<string, unknown>) => ({
    status: STATUS[code],
    body: { error: { code, message, ...(details ? { details } : {}) } },
  });
  if (error instanceof ApiError) return wire(error.code, error.message, error.details);
  if (error instanceof ReinsError) {
    switch (error.code) {
      case 'not_found':
      case 'conflict':
      case 'forbidden':
      case 'expired':
      case 'invalid_input':
        return wire(error.code, error.message, error.details);
      case 'invalid_policy':
        return wire('invalid_input', error.message);
      case 'audit_unavailable':
      case 'store_unavailable':
        // the store's message may name files or hosts: say what is wrong, not where
        onInternal?.(error);
        return wire('unavailable', 'the store is unavailable; try again');
      default:
        break;
    }
  }
  if (error instanceof HTTPException) {
    // raised by Hono itself, e.g. for a body that is not JSON
    if (error.status === 413) return wire('payload_too_large', 'the request body is too large');
    if (error.status < 500) return wire('invalid_input', error.message || 'invalid request');
  }
  onInternal?.(error);
  return wire('internal_error', 'internal error');
}
