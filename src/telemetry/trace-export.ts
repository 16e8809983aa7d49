/**
 * @module telemetry/trace-export
 * Whether and where a process exports its traces, resolved from reins.yaml and the environment: an
 * endpoint in `telemetry.traces.otlp.endpoint`, else the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`), which OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none
 * turn off again. Apart from telemetry/tracing so that deciding costs no loading of the SDK.
 */
import type { TracesConfig } from '../spec/gateway-config.js';

/** Where and how this process exports its traces (resolved from reins.yaml and the environment). */
export interface TraceExport {
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sampleRatio: number;
  readonly serviceName: string;
}

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

/** What an endpoint that is not a URL we take may be called in a message: its scheme, nothing more. */
function schemeOf(endpoint: string): string {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]{0,20}):/.exec(endpoint)?.[1];
  return scheme === undefined ? 'not a URL' : `scheme ${scheme}`;
}
