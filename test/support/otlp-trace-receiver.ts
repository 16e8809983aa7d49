/**
 * @module test/support/otlp-trace-receiver
 * A local OTLP/HTTP traces receiver for tests: a node:http server taking `POST /v1/traces` in the JSON
 * encoding (what @opentelemetry/exporter-trace-otlp-http sends), keeping every span it was sent.
 */
import { createServer } from 'node:http';

/** One received span, as the OTLP JSON encoding carries it (ids in hex). */
export interface ReceivedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly kind?: number;
  readonly attributes: Record<string, unknown>;
  readonly status?: { code?: number; message?: string };
  /** The `service.name` of the resource it came with. */
  readonly service: string | undefined;
}

export interface TraceReceiver {
  /** Where exporters send: `http://127.0.0.1:<port>/v1/traces`. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Content types of the requests received (the encoding the exporter used). */
  readonly contentTypes: string[];
  /** The headers of each export request. */
  readonly headers: Record<string, unknown>[];
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: {
    stringValue?: string;
    intValue?: string | number;
    boolValue?: boolean;
    arrayValue?: { values?: OtlpAttribute['value'][] };
  };
}

function plainValue(value: OtlpAttribute['value']): unknown {
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plainValue);
  return value.stringValue ?? value.intValue ?? value.boolValue;
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((attribute) => [attribute.key, plainValue(attribute.value)]));
}

export async function startTraceReceiver(): Promise<TraceReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const headers: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      contentTypes.push(String(request.headers['content-type']));
      headers.push(request.headers);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const resource of body.resourceSpans ?? []) {
        const service = attributesOf(resource.resource?.attributes)['service.name'] as string | undefined;
        for (const scope of resource.scopeSpans ?? [])
          for (const span of scope.spans ?? [])
            spans.push({ ...span, attributes: attributesOf(span.attributes), service });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    contentTypes,
    headers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
