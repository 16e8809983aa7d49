/**
 * @module telemetry/tracing
 * Turns tracing on for a process: an OpenTelemetry tracer provider whose spans are batched and exported
 * over OTLP/HTTP (JSON), the W3C trace-context propagator (so a client's `traceparent` is read and an
 * upstream's is written) and the AsyncLocalStorage context manager (so the span of a running tool is
 * the active one when the upstream request is sent). All three are registered globally: the harness
 * and the gateway use only `@opentelemetry/api`, which stays a no-op until this runs.
 *
 * Off unless an endpoint is configured (telemetry/trace-export says where from). The composition root
 * imports this module only then: the OpenTelemetry SDK is ~0.3 s of loading that a process without
 * tracing, and every other `reins` command, does not pay.
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
import type { TraceExport } from './trace-export.js';

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

function targetOf(endpoint: string): string {
  const url = URL.parse(endpoint);
  return url === null ? '(invalid endpoint)' : `${url.origin}${url.pathname}`;
}
