/**
 * @module telemetry/tracing
 * Turns tracing on for a process: an OpenTelemetry tracer provider whose spans are batched and exported
 * over OTLP/HTTP (JSON), the W3C trace-context propagator (so a client's `traceparent` is read and an
 * upstream's is written) and the AsyncLocalStorage context manager (so the span of a running tool is
 * the active one when the upstream request is sent). All three are registered globally: the harness
 * and the gateway use only `@opentelemetry/api`, which stays a no-op until this runs.
 *
 * Off unless an endpoint is configured: `telemetry.traces.otlp.endpoint` in reins.yaml, else the
 * standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`), which
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn off again.
 */
import { context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { TracesConfig } from '../spec/gateway-config.js';

/** Where and how this process exports its traces (resolved from reins.yaml and the environment). */
export interface TraceExport {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sampleRatio: number;
  readonly serviceName: string;
}

/** Tracing as started: the tracer the harness is given, and how to flush and stop it. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Where spans go, for the log: the endpoint without credentials or query. */
  readonly target: string;
  /** Exports what is still buffered, then unregisters everything `startTracing` registered. */
  shutdown(): Promise<void>;
}

/**
 * How long one export may take, and a closing process waits for its last spans to be exported; what is
 * not sent by then is lost (a collector is usually an agent or gateway nearby: 2 s is generous).
 */
const SHUTDOWN_FLUSH_MS = 2_000;

/** `task`, or a resolved promise once `ms` have passed, whichever is first (the timer does not hold the process). */
function withDeadline(task: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([task.catch(() => undefined), deadline]).finally(() => clearTimeout(timer));
}

/** The name spans are reported under (the instrumentation scope). */
export const TRACER_NAME = 'reins';

/**
 * What tracing a process does: undefined when it is off (no endpoint anywhere). The configuration wins
 * over the environment. An endpoint that is not an http(s) URL is an error, said clearly.
 */
export function traceExportOf(
  config: TracesConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
): TraceExport | undefined {
  const configured = config?.otlp?.endpoint;
  const fromEnv = configured === undefined ? endpointFromEnv(env) : undefined;
  const endpoint = configured ?? fromEnv?.endpoint;
  if (endpoint === undefined) return undefined;
  if (configured === undefined && !/^https?:$/.test(URL.parse(endpoint)?.protocol ?? ''))
    throw new Error(
      // never the URL itself: endpoints carry credentials (user:token@, ?api_key=)
      `invalid ${fromEnv?.variable} (${schemeOf(endpoint)}): give the http(s) URL of an OTLP traces endpoint, e.g. http://collector:4318/v1/traces`,
    );
  return {
    endpoint,
    headers: config?.otlp?.headers ?? {},
    sampleRatio: config?.sampleRatio ?? 1,
    serviceName: config?.serviceName ?? nonEmpty(env.OTEL_SERVICE_NAME) ?? 'reins',
  };
}

function endpointFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): { endpoint: string; variable: string } | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const traces = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (traces !== undefined) return { endpoint: traces, variable: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' };
  const base = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (base === undefined) return undefined;
  // the base endpoint names the collector; each signal has its path under it (OTLP/HTTP spec)
  return { endpoint: `${base.replace(/\/+$/, '')}/v1/traces`, variable: 'OTEL_EXPORTER_OTLP_ENDPOINT' };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/**
 * Starts exporting traces and registers the provider, propagator and context manager globally, each one
 * unless the process has its own already (an application that embeds the gateway and runs its own
 * OpenTelemetry SDK: then its propagator and context manager carry the context, and Reins' spans still
 * go to Reins' endpoint through the tracer returned here). `shutdown` unregisters only what it registered.
 */
export function startTracing(settings: TraceExport): Tracing {
  const exporter = new OTLPTraceExporter({
    url: settings.endpoint,
    headers: { ...settings.headers },
    // an export request still open keeps a closing process alive: bound it (the default is 10 s)
    timeoutMillis: SHUTDOWN_FLUSH_MS,
  });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    // a client's decision is kept (its sampled flag); calls without one are sampled at the ratio
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const registered = {
    provider: trace.setGlobalTracerProvider(provider),
    context: context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
    propagator: propagation.setGlobalPropagator(new W3CTraceContextPropagator()),
  };
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    target: targetOf(settings.endpoint),
    shutdown: () => {
      // a collector that never answers must not hold a closing process for the exporter's own timeouts
      stopped ??= withDeadline(provider.shutdown(), SHUTDOWN_FLUSH_MS).finally(() => {
        if (registered.provider) trace.disable();
        if (registered.propagator) propagation.disable();
        if (registered.context) context.disable();
      });
      return stopped;
    },
  };
}

/** What an endpoint that is not a URL we take may be called in a message: its scheme, nothing more. */
function schemeOf(endpoint: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]{0,20}):/.exec(endpoint)?.[1];
  return scheme === undefined ? 'not a URL' : `scheme ${scheme}`;
}

function targetOf(endpoint: string): string {
  const url = URL.parse(endpoint);
  return url === null ? '(invalid endpoint)' : `${url.origin}${url.pathname}`;
}
