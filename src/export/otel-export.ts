/**
 * @module export/otel-export
 * Ships audit records to an OpenTelemetry collector as log records, over OTLP/HTTP with JSON encoding
 * (`@opentelemetry/exporter-logs-otlp-http`, `Content-Type: application/json`), through the official
 * logs SDK (`LoggerProvider`).
 *
 * One log record per audit record:
 * - body: the exact stored event JSON (`ChainedRecord.body`), a string, so that a receiver holding the
 *   `reins.*` attributes below can recompute the chain hash (see audit/chain.ts);
 * - timestamp: the event time; observed timestamp: the time of export;
 * - event name: `reins.call_intent` or `reins.call_outcome`;
 * - severity: WARN for the effects `deny` (intent), `denied` and `expired` (outcomes), INFO otherwise;
 * - attributes, from the stored record: `reins.seq` (int), `reins.hash`, `reins.prev_hash`, `reins.kind`,
 *   `reins.decision_id`, `reins.session_id`, `reins.agent_id`, `reins.tool` (`server/name`),
 *   `reins.effect` (the decision effect of an intent, the outcome of an outcome), `reins.time` (the
 *   stored ISO time string); from the event, when the body is a valid `AuditEventV1`: `reins.event_id`,
 *   and for an intent `reins.policy_hash`, `reins.matched_rules` (string array), `reins.shadow_effect`
 *   (when shadow rules decided), for both `reins.latency_us` (an intent's decision latency, an
 *   outcome's call latency);
 * - resource: `service.name` (default `reins`); instrumentation scope: `reins.audit`.
 *
 * Signed checkpoints (`exportCheckpoints`, used by the checkpoint publisher) are log records too:
 * event name `reins.audit_checkpoint`, body the checkpoint JSON, attributes `reins.seq`, `reins.hash`,
 * `reins.key_id`, `reins.signature`, `reins.time`; a receiver that keeps them can hand them to
 * `reins audit verify --checkpoints`.
 *
 * Records are sent in order, in batches of at most `maxBatchSize`, each awaited before the next: a
 * failed batch rejects `export` with a message naming the receiver, the cause and the last record that
 * was delivered (resume with `records({ afterSeq })`). Nothing is dropped silently and nothing hangs:
 * each batch is bounded by `timeoutMillis` (retries included).
 */
import { type LogAttributes, type LogRecord, SeverityNumber } from '@opentelemetry/api-logs';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  LoggerProvider,
  type LogRecordProcessor,
  type ReadableLogRecord,
  type SdkLogRecord,
} from '@opentelemetry/sdk-logs';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { AuditEventV1Schema, type ChainedRecord } from '../spec/audit-event.js';
import { ReinsError } from '../spec/errors.js';

export interface OtelAuditExporterOptions {
  /** The OTLP/HTTP logs endpoint, e.g. `http://127.0.0.1:4318/v1/logs`. */
  readonly url: string;
  /** `service.name` of the resource. Default `reins`. */
  readonly serviceName?: string;
  /** Extra HTTP headers, e.g. an authorization header for the collector. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Bound on one batch, retries included. Default 10,000 ms. */
  readonly timeoutMillis?: number;
  /** Most log records per request. Default 512. */
  readonly maxBatchSize?: number;
}

export interface OtelAuditExporter {
  /**
   * Sends every record, in order, and resolves with how many were delivered once the receiver has
   * accepted them all. Rejects on the first batch the receiver does not accept. Calls run one at a time.
   */
  export(records: Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>): Promise<number>;
  /** Sends signed checkpoints the same way (one log record each); resolves once all are accepted. */
  exportCheckpoints(checkpoints: readonly AuditCheckpointV1[]): Promise<number>;
  /** Waits for a running export, then releases the exporter; later exports reject. */
  shutdown(): Promise<void>;
}

const DEFAULT_SERVICE_NAME = 'reins';
const DEFAULT_TIMEOUT_MILLIS = 10_000;
const DEFAULT_MAX_BATCH_SIZE = 512;
/** Added to `timeoutMillis` before giving up on an exporter that never answers (it should not happen). */
const ANSWER_GRACE_MILLIS = 5_000;
const WARN_EFFECTS = new Set(['deny', 'denied', 'expired']);

export function createOtelAuditExporter(options: OtelAuditExporterOptions): OtelAuditExporter {
  const url = checkUrl(options.url);
  const timeoutMillis = options.timeoutMillis ?? DEFAULT_TIMEOUT_MILLIS;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  if (!(timeoutMillis > 0)) throw new RangeError(`timeoutMillis must be positive, got \`${timeoutMillis}\``);
  if (!(Number.isInteger(maxBatchSize) && maxBatchSize >= 1))
    throw new RangeError(`maxBatchSize must be a positive integer, got \`${maxBatchSize}\``);

  const exporter = new OTLPLogExporter({
    url,
    timeoutMillis,
    ...(options.headers ? { headers: { ...options.headers } } : {}),
  });
  const collector = new CollectingProcessor();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? DEFAULT_SERVICE_NAME }),
    processors: [collector],
  });
  const logger = provider.getLogger('reins.audit');

  const send = (batch: ReadableLogRecord[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${timeoutMillis + ANSWER_GRACE_MILLIS} ms`)),
        timeoutMillis + ANSWER_GRACE_MILLIS,
      );
      try {
        exporter.export(batch, (result) => {
          clearTimeout(timer);
          if (result.code === ExportResultCode.SUCCESS) resolve();
          else reject(result.error ?? new Error('the exporter reported a failure without a cause'));
        });
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });

  const exportAll = async <T extends { readonly seq: number }>(
    records: Iterable<T> | AsyncIterable<T>,
    toLog: (item: T) => LogRecord,
  ): Promise<number> => {
    let delivered = 0;
    let lastDelivered: number | undefined;
    let pendingLast: number | undefined;
    const flush = async () => {
      const batch = collector.take();
      if (batch.length === 0) return;
      try {
        await send(batch);
      } catch (error) {
        const through = lastDelivered === undefined ? '' : `, through record ${lastDelivered}`;
        throw new Error(
          `OTLP export to \`${url}\` failed (${delivered} delivered${through}): ${describeExportError(error)}`,
          { cause: error },
        );
      }
      delivered += batch.length;
      lastDelivered = pendingLast;
    };
    try {
      for await (const record of records) {
        logger.emit(toLog(record));
        pendingLast = record.seq;
        if (collector.size >= maxBatchSize) await flush();
      }
      await flush();
      await exporter.forceFlush();
      return delivered;
    } finally {
      collector.take(); // drop whatever a failure left behind
    }
  };

  let running: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    export(records) {
      if (closed) return Promise.reject(new Error('the OTLP audit exporter is shut down'));
      const result = running.then(() => exportAll(records, toLogRecord));
      running = result.catch(() => undefined);
      return result;
    },
    exportCheckpoints(checkpoints) {
      if (closed) return Promise.reject(new Error('the OTLP audit exporter is shut down'));
      const result = running.then(() => exportAll(checkpoints, checkpointLogRecord));
      running = result.catch(() => undefined);
      return result;
    },
    async shutdown() {
      if (closed) return;
      closed = true;
      await running;
      await provider.shutdown();
      await exporter.shutdown();
    },
  };
}

/** Maps one stored record to a log record (see the module comment). */
export function toLogRecord(record: ChainedRecord): LogRecord {
  const time = new Date(record.time);
  if (Number.isNaN(time.getTime()))
    throw new ReinsError('invalid_input', `record ${record.seq} has an invalid time \`${record.time}\``);
  const attributes: LogAttributes = {
    'reins.seq': record.seq,
    'reins.hash': record.hash,
    'reins.prev_hash': record.prevHash,
    'reins.kind': record.kind,
    'reins.decision_id': record.decisionId,
    'reins.session_id': record.sessionId,
    'reins.agent_id': record.agentId,
    'reins.tool': record.tool,
    'reins.effect': record.effect,
    'reins.time': record.time,
  };
  const event = parseEvent(record.body);
  if (event) {
    attributes['reins.event_id'] = event.id;
    if (event.kind === 'call-intent') {
      attributes['reins.policy_hash'] = event.decision.policyHash;
      attributes['reins.matched_rules'] = [...event.decision.matchedRules];
      if (event.decision.shadow) attributes['reins.shadow_effect'] = event.decision.shadow.effect;
      attributes['reins.latency_us'] = event.decisionLatencyUs;
    } else if (event.kind === 'call-outcome') {
      attributes['reins.latency_us'] = event.latencyUs;
    }
  }
  const warn = WARN_EFFECTS.has(record.effect);
  return {
    eventName: `reins.${record.kind.replaceAll('-', '_')}`,
    timestamp: time,
    severityNumber: warn ? SeverityNumber.WARN : SeverityNumber.INFO,
    severityText: warn ? 'WARN' : 'INFO',
    body: record.body,
    attributes,
  };
}

/** Maps a signed checkpoint to a log record (see the module comment). */
export function checkpointLogRecord(checkpoint: AuditCheckpointV1): LogRecord {
  return {
    eventName: 'reins.audit_checkpoint',
    timestamp: new Date(checkpoint.time),
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: JSON.stringify(checkpoint),
    attributes: {
      'reins.seq': checkpoint.seq,
      'reins.hash': checkpoint.hash,
      'reins.key_id': checkpoint.keyId,
      'reins.signature': checkpoint.signature,
      'reins.time': checkpoint.time,
    },
  };
}

function parseEvent(body: string) {
  try {
    const parsed = AuditEventV1Schema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Holds the records the logger emits until `export` sends them as one batch. */
class CollectingProcessor implements LogRecordProcessor {
  private pending: ReadableLogRecord[] = [];

  get size(): number {
    return this.pending.length;
  }

  onEmit(record: SdkLogRecord): void {
    this.pending.push(record);
  }

  take(): ReadableLogRecord[] {
    const batch = this.pending;
    this.pending = [];
    return batch;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.pending = [];
    return Promise.resolve();
  }
}

function checkUrl(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ReinsError('invalid_input', `OTLP endpoint \`${value}\` is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ReinsError('invalid_input', `OTLP endpoint \`${value}\` must be http or https`);
  return value;
}

/** One line saying why an export failed: HTTP status and response, or the network error. */
function describeExportError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { code?: unknown }).code;
  const data = (error as { data?: unknown }).data;
  if (typeof status === 'number') {
    const text = typeof data === 'string' && data.trim() !== '' ? `: ${data.trim().slice(0, 200)}` : '';
    return `the receiver answered HTTP ${status}${error.message ? ` ${error.message}` : ''}${text}`;
  }
  if (error instanceof AggregateError && error.message === '') {
    // e.g. `localhost` resolving to ::1 and 127.0.0.1, both refused
    return error.errors.map((inner) => describeExportError(inner)).join('; ');
  }
  const message = error.message.split('\n')[0] || (typeof status === 'string' ? status : error.name);
  return message;
}
