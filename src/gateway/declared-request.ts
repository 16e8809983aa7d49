/**
 * @module gateway/declared-request
 * The user's request as an MCP client declares it (issue 18). MCP carries no user request, so a client
 * that knows it attaches it to a request's `_meta`: `reins.dev/user-request` for that call,
 * `reins.dev/session-request` for the whole session (spec/provenance). Read for every request the
 * gateway sends through the pipeline (tools/call, resources/read, prompts/get), over stdio and HTTP
 * alike (both serve `Gateway.createServer`). A malformed declaration refuses the request: dropped in
 * silence, it would leave the user's own values looking like the model's.
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { SESSION_REQUEST_META, USER_REQUEST_META } from '../spec/provenance.js';
import { MAX_USER_INPUT_LENGTH } from '../spec/remote-call.js';

export interface DeclaredRequests {
  /** The user's request for this call: the harness's `trustedInput`. */
  readonly call?: string;
  /** The user's request for the session: declared before the call is decided. */
  readonly session?: string;
}

/**
 * What a request's `_meta` declares. Throws -32602 (invalid params) naming the key when a value is not
 * a string, is empty (or only white space), or is longer than MAX_USER_INPUT_LENGTH characters.
 */
export function declaredRequestsOf(meta: Readonly<Record<string, unknown>> | undefined): DeclaredRequests {
  if (meta === undefined) return {};
  const call = declaredValue(meta, USER_REQUEST_META);
  const session = declaredValue(meta, SESSION_REQUEST_META);
  return {
    ...(call === undefined ? {} : { call }),
    ...(session === undefined ? {} : { session }),
  };
}

function declaredValue(meta: Readonly<Record<string, unknown>>, key: string): string | undefined {
  if (!Object.hasOwn(meta, key)) return undefined;
  const value = meta[key];
  const problem = problemOf(value);
  if (problem === undefined) return value as string;
  throw new McpError(
    ErrorCode.InvalidParams,
    `invalid \`_meta["${key}"]\`: ${problem}; the call was not run`,
  );
}

function problemOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return `the user's request must be a string, not ${kindOf(value)}`;
  if (value.trim().length === 0) return "the user's request is empty (leave the key out when there is none)";
  if (value.length > MAX_USER_INPUT_LENGTH)
    return `the user's request is longer than ${MAX_USER_INPUT_LENGTH} characters`;
  return undefined;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
