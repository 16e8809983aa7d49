/**
 * @module gateway/remote-calls
 * The remote enforcement protocol on the gateway's listener, for agents whose tools are their own
 * functions (decision 0021): `POST /v1/calls` opens a call (decided, intent recorded), `GET
 * /v1/calls/{id}` says where it stands and waits on a held one (long-poll `?wait=N` or Server-Sent
 * Events), `POST /v1/calls/{id}/outcome` takes what the tool did and answers with what the agent may
 * use, `POST /v1/calls/{id}/cancel` withdraws a call the agent will not run. Each request is authenticated with the agent's Reins credential, like `/mcp`; the credential
 * names the agent and the session, so an agent reaches only its own calls. Everything is decided and
 * recorded by the harness: this module only translates HTTP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context } from '@opentelemetry/api';
import { callerOfCredential } from '../auth/agent-standing.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { CallAnswer, Harness } from '../harness/harness.js';
import { openRequestOf } from '../harness/open-calls.js';
import type { CallerRef } from '../harness/types.js';
import { describeError } from '../spec/errors.js';
import {
  CALL_REFUSAL_STATUS,
  CancelRequestSchema,
  OpenCallRequestSchema,
  OutcomeReportSchema,
} from '../spec/remote-call.js';
import { authenticateBearer, isJsonContent, readBody, send } from './http-io.js';
import { callerTraceContext } from './trace-context.js';

export const REMOTE_CALLS_PATH = '/v1/calls';
/** Longest a single wait request is held open (long-poll), in seconds. */
export const MAX_WAIT_SECONDS = 60;
/** Server-Sent Events: a comment this often keeps proxies from closing a quiet stream. */
const SSE_KEEPALIVE_MS = 15_000;

export interface RemoteCallsOptions {
  readonly harness: Pick<Harness, 'open' | 'get' | 'wait' | 'complete' | 'cancel'>;
  readonly authenticator: Authenticator;
  readonly maxMessageBytes: number;
}

export function isRemoteCallPath(pathname: string): boolean {
  return pathname === REMOTE_CALLS_PATH || pathname.startsWith(`${REMOTE_CALLS_PATH}/`);
}

/** Serves one request under `/v1/calls`. */
export async function handleRemoteCall(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  options: RemoteCallsOptions,
): Promise<void> {
  const route = routeOf(request.method ?? 'GET', url.pathname);
  if (route === undefined) return refuse(response, 404, 'not_found', `no endpoint at \`${url.pathname}\``);
  if (route.kind === 'method')
    return refuse(response, 405, 'method_not_allowed', `use ${route.allowed} on \`${url.pathname}\``);
  const auth = await authenticateBearer(request, response, options.authenticator);
  if (auth === undefined) return;
  const caller: CallerRef = callerOfCredential(auth);
  // the caller's trace (its `traceparent` header) is the parent of what the harness does for it
  const traced = callerTraceContext(request.headers, undefined);
  if (traced !== undefined)
    return context.with(traced, () => serveRoute(request, response, url, caller, route, options));
  return serveRoute(request, response, url, caller, route, options);
}

async function serveRoute(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  caller: CallerRef,
  route: Exclude<Route, { kind: 'method' }>,
  options: RemoteCallsOptions,
): Promise<void> {
  if (route.kind === 'get') return getCall(request, response, url, caller, route.id, options);
  const body = await jsonBody(request, response, options.maxMessageBytes);
  if (body === undefined) return;
  if (route.kind === 'open') return openCall(response, caller, body.value, options);
  if (route.kind === 'cancel') {
    const cancel = CancelRequestSchema.safeParse(body.value);
    if (!cancel.success)
      return refuse(response, 400, 'invalid_request', 'a cancellation is `{}` or `{"reason": "…"}`');
    return answer(response, await options.harness.cancel(caller, route.id, cancel.data.reason ?? ''));
  }
  const report = OutcomeReportSchema.safeParse(body.value);
  if (!report.success)
    return refuse(
      response,
      400,
      'invalid_request',
      `the outcome is \`{"ok": true, "result": …}\` or \`{"ok": false, "error": "…"}\``,
    );
  return answer(response, await options.harness.complete(caller, route.id, report.data));
}

type Route =
  | { kind: 'open' }
  | { kind: 'get'; id: string }
  | { kind: 'outcome'; id: string }
  | { kind: 'cancel'; id: string }
  | { kind: 'method'; allowed: string };

function routeOf(method: string, pathname: string): Route | undefined {
  if (pathname === REMOTE_CALLS_PATH)
    return method === 'POST' ? { kind: 'open' } : { kind: 'method', allowed: 'POST' };
  const rest = pathname.slice(REMOTE_CALLS_PATH.length + 1).split('/');
  const id = decodeSegment(rest[0]);
  if (id === undefined) return undefined;
  if (rest.length === 1) return method === 'GET' ? { kind: 'get', id } : { kind: 'method', allowed: 'GET' };
  if (rest.length === 2 && (rest[1] === 'outcome' || rest[1] === 'cancel'))
    return method === 'POST' ? { kind: rest[1], id } : { kind: 'method', allowed: 'POST' };
  return undefined;
}

/** A call id as sent: URL-decoded, 1..128 characters, no control characters. */
function decodeSegment(segment: string | undefined): string | undefined {
  if (segment === undefined || segment.length === 0) return undefined;
  try {
    const id = decodeURIComponent(segment);
    return id.length <= 128 && ![...id].some(isControl) ? id : undefined;
  } catch {
    return undefined;
  }
}

function isControl(character: string): boolean {
  const code = character.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

async function openCall(
  response: ServerResponse,
  caller: CallerRef,
  body: unknown,
  options: RemoteCallsOptions,
): Promise<void> {
  const parsed = OpenCallRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    return refuse(response, 400, 'invalid_request', `invalid call: ${issues.join('; ')}`);
  }
  answer(response, await options.harness.open(openRequestOf(caller, parsed.data), parsed.data.callId));
}

/** Where a call stands; `?wait=N` waits up to N seconds while it is held; SSE streams until it is not. */
async function getCall(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  caller: CallerRef,
  id: string,
  options: RemoteCallsOptions,
): Promise<void> {
  const wait = url.searchParams.get('wait');
  const seconds = wait === null ? 0 : Number(wait);
  if (!Number.isFinite(seconds) || seconds < 0)
    return refuse(response, 400, 'invalid_request', '`wait` is a number of seconds (0 to 60)');
  // the wait belongs to this request only: a client that goes away stops waiting, the call stays held
  const gone = new AbortController();
  response.once('close', () => gone.abort());
  if (wantsEvents(request.headers.accept)) return streamCall(response, caller, id, options, gone.signal);
  const timeoutMs = Math.min(seconds, MAX_WAIT_SECONDS) * 1000;
  answer(response, await options.harness.wait(caller, id, timeoutMs, gone.signal));
}

/** Server-Sent Events: the state now, then each change, until the call is no longer held. */
async function streamCall(
  response: ServerResponse,
  caller: CallerRef,
  id: string,
  options: RemoteCallsOptions,
  gone: AbortSignal,
): Promise<void> {
  let result = await options.harness.get(caller, id);
  if (!result.ok) return answer(response, result);
  response.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  response.write(`event: state\ndata: ${JSON.stringify(result.state)}\n\n`);
  while (result.ok && result.state.status === 'held' && !gone.aborted) {
    result = await options.harness.wait(caller, id, SSE_KEEPALIVE_MS, gone);
    if (gone.aborted) return;
    if (!result.ok)
      response.write(
        `event: error\ndata: ${JSON.stringify({ error: result.code, message: result.message })}\n\n`,
      );
    else if (result.state.status === 'held') response.write(': still held\n\n');
    else response.write(`event: state\ndata: ${JSON.stringify(result.state)}\n\n`);
  }
  response.end();
}

function wantsEvents(accept: string | undefined): boolean {
  return accept?.split(',').some((part) => part.split(';')[0]?.trim() === 'text/event-stream') === true;
}

function answer(response: ServerResponse, result: CallAnswer): void {
  if (result.ok) {
    send(response, 200, result.state);
    return;
  }
  const body =
    result.state === undefined
      ? { error: result.code, message: result.message }
      : { error: result.code, message: result.message, state: result.state };
  send(response, CALL_REFUSAL_STATUS[result.code], body);
}

function refuse(response: ServerResponse, status: number, error: string, message: string): void {
  send(response, status, { error, message });
}

async function jsonBody(
  request: IncomingMessage,
  response: ServerResponse,
  limit: number,
): Promise<{ value: unknown } | undefined> {
  if (!isJsonContent(request.headers['content-type'])) {
    refuse(response, 415, 'unsupported_media_type', 'send JSON: `Content-Type: application/json`');
    return undefined;
  }
  const read = await readBody(request, response, limit);
  if (read.kind === 'too_large') {
    refuse(response, 413, 'too_large', `body larger than ${limit} bytes`);
    return undefined;
  }
  try {
    return { value: JSON.parse(read.text) };
  } catch (error) {
    refuse(response, 400, 'invalid_json', `the body is not JSON: ${describeError(error)}`);
    return undefined;
  }
}
