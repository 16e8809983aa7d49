/**
 * @module telemetry/tracing.test
 * Whether and where a process exports traces: off by default, the configuration before the standard
 * OTEL_EXPORTER_OTLP_* environment, and clear errors for a bad endpoint (in reins.yaml or the env).
 */
import { describe, expect, it } from 'vitest';
import { GatewayConfigSchema } from '../spec/gateway-config.js';
import { traceExportOf } from './trace-export.js';

const BASE = { apiVersion: 'reins.dev/v1', kind: 'Gateway', policy: 'policy.yaml' };

function configIssues(telemetry: unknown): string[] {
  const parsed = GatewayConfigSchema.safeParse({ ...BASE, telemetry });
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('trace export settings', () => {
  it('is off without an endpoint in the configuration or the environment', () => {
    expect(traceExportOf(undefined, {})).toBeUndefined();
    expect(traceExportOf({ sampleRatio: 1, serviceName: 'reins' }, {})).toBeUndefined();
    expect(GatewayConfigSchema.parse(BASE).telemetry).toEqual({});
  });

  it('takes the configured endpoint, headers, ratio and name; the configuration wins over the env', () => {
    const config = GatewayConfigSchema.parse({
      ...BASE,
      telemetry: {
        traces: {
          otlp: { endpoint: 'http://collector:4318/v1/traces', headers: { authorization: 'Bearer t' } },
          sampleRatio: 0.25,
        },
      },
    });
    expect(
      traceExportOf(config.telemetry.traces, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other/v1/traces',
      }),
    ).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      headers: { authorization: 'Bearer t' },
      sampleRatio: 0.25,
      serviceName: 'reins',
    });
  });

  it('honours the standard environment when nothing is configured, and its off switches', () => {
    expect(
      traceExportOf(undefined, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
        OTEL_SERVICE_NAME: 'reins-eu',
      }),
    ).toEqual({
      endpoint: 'http://127.0.0.1:4318/v1/traces',
      headers: {},
      sampleRatio: 1,
      serviceName: 'reins-eu',
    });
    expect(
      traceExportOf(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })?.endpoint,
    ).toBe('http://collector:4318/v1/traces');
    const on = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' };
    expect(traceExportOf(undefined, { ...on, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
    expect(traceExportOf(undefined, { ...on, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  });

  it('refuses an endpoint in the environment that is not an http(s) URL, saying which variable', () => {
    expect(() => traceExportOf(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4318' })).toThrow(
      /invalid OTEL_EXPORTER_OTLP_TRACES_ENDPOINT \(scheme collector\): give the http\(s\) URL/,
    );
  });

  it('refuses a bad `telemetry` section with the path to change', () => {
    expect(configIssues({ traces: { otlp: { endpoint: 'ftp://collector/v1/traces' } } })).toEqual([
      expect.stringMatching(/^telemetry\.traces\.otlp\.endpoint: /),
    ]);
    expect(configIssues({ traces: { otlp: { endpoint: 'http://c/v1/traces' }, sampleRatio: 2 } })).toEqual([
      expect.stringMatching(/^telemetry\.traces\.sampleRatio: .*1/),
    ]);
    expect(configIssues({ traces: { endpoint: 'http://c/v1/traces' } })).toEqual([
      expect.stringMatching(/^telemetry\.traces: .*endpoint/),
    ]);
    expect(configIssues({ logs: {} })).toEqual([expect.stringMatching(/^telemetry: .*logs/)]);
  });
});
