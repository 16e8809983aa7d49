/**
 * @module gateway/trace-context
 * W3C trace context across the gateway (OpenTelemetry's propagation API, a no-op until telemetry/tracing
 * registers the W3C propagator): read from a caller, written to an upstream.
 *
 * In: the `traceparent` header of the HTTP request that carried the call, else the
 * `params._meta.traceparent` of the MCP request (never the caller's `tracestate`, see below) (the convention MCP SDKs use, and the only
 * way over stdio). Out: the active context (the harness's execute stage) as `traceparent` headers of the
 * request to an HTTP upstream, or in `params._meta` of a tools/call to a stdio upstream.
 */
import { type Context, context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';

type HeaderValue = string | readonly string[] | undefined;

/**
 * The caller's trace context, if it sent one (headers first); undefined when it sent none. Only its
 * `traceparent` (trace id, parent span id, sampled flag) is taken, never its `tracestate`: that is up
 * to 512 bytes of text the agent chooses, outside the arguments, which no rule, screening or audit
 * record sees, and which would otherwise travel on to every upstream (a channel around the policy).
 */
export function callerTraceContext(
  headers: Readonly<Record<string, HeaderValue>> | undefined,
  meta: unknown,
): Context | undefined {
  // headers of Node and of the SDK's request info are lower-case
  const traceparent = headers?.traceparent ?? metaTraceparent(meta);
  return traceparent === undefined ? undefined : propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The `traceparent` of an MCP request's `_meta`, if it names a parent. */
function metaTraceparent(meta: unknown): string | undefined {
  if (typeof meta !== 'object' || meta === null) return undefined;
  const { traceparent } = meta as { traceparent?: unknown };
  return typeof traceparent === 'string' ? traceparent : undefined;
}

/** Whether a span is active here (so there is a context to pass on): false whenever tracing is off. */
function activeContext(): Context | undefined {
  const active = context.active();
  return trace.getSpan(active) === undefined ? undefined : active;
}

/** The active trace context as `_meta` fields of an MCP request, or undefined when there is none. */
export function traceMeta(): Record<string, string> | undefined {
  const active = activeContext();
  if (active === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  return carrier.traceparent === undefined ? undefined : carrier;
}
