/**
 * @module test/export-otel.test
 * OTLP/HTTP (JSON) export of audit records to a real HTTP receiver on 127.0.0.1: what arrives, in what
 * order and with which attributes, and that an unreachable, failing or silent receiver rejects the
 * export promptly instead of hanging or dropping records silently.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOtelAuditExporter, type OtelAuditExporter } from '../src/export/otel-export.js';
import type { AuditEventV1, ChainedRecord } from '../src/spec/audit-event.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { intentEvent, outcomeEvent } from './support/audit-fixtures.js';

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: AnyValue[] };
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  eventName?: string;
  body: AnyValue;
  attributes: KeyValue[];
}
interface OtlpRequest {
  resourceLogs: {
    resource: { attributes: KeyValue[] };
    scopeLogs: { scope: { name: string }; logRecords: OtlpLogRecord[] }[];
  }[];
}

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: OtlpRequest;
}

/** A minimal OTLP/HTTP logs receiver; `respond` decides the answer to each request (default 200). */
async function startReceiver(
  respond: (request: number) => { status: number; body?: string } | 'hang' = () => ({ status: 200 }),
) {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: JSON.parse(text) as OtlpRequest,
      });
      const answer = respond(received.length);
      if (answer === 'hang') return;
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(answer.body ?? '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/logs`,
    received,
    logRecords: () =>
      received.flatMap((request) =>
        request.body.resourceLogs.flatMap((resource) =>
          resource.scopeLogs.flatMap((scope) => scope.logRecords),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

function attributesOf(record: { attributes: KeyValue[] }): Record<string, unknown> {
  const plain = (value: AnyValue): unknown =>
    value.arrayValue
      ? value.arrayValue.values.map(plain)
      : (value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
        value.doubleValue ??
        value.boolValue);
  return Object.fromEntries(record.attributes.map(({ key, value }) => [key, plain(value)]));
}

/** 10 calls: intent and outcome each; calls 0, 3, 6, 9 denied, call 4 expired awaiting approval. */
function events(): AuditEventV1[] {
  return Array.from({ length: 10 }, (_, index) => {
    const intent = intentEvent(index, { agentId: `agent-${index % 2}` });
    if (intent.kind !== 'call-intent') throw new Error('fixture');
    const effect = index % 3 === 0 ? 'deny' : index === 4 ? 'approve' : 'allow';
    const outcome = effect === 'deny' ? 'denied' : index === 4 ? 'expired' : index === 5 ? 'error' : 'ok';
    return [
      {
        ...intent,
        decision: {
          ...intent.decision,
          effect,
          matchedRules: effect === 'allow' ? ['reads'] : ['reads', 'no-pii'],
        },
        decisionLatencyUs: 10 + index,
      },
      { ...outcomeEvent(index, outcome, { agentId: `agent-${index % 2}` }), latencyUs: 1000 + index },
    ] as AuditEventV1[];
  }).flat();
}

let log: SqliteAuditLog;
let receiver: Receiver | undefined;
let exporter: OtelAuditExporter | undefined;

beforeEach(async () => {
  log = new SqliteAuditLog({ path: ':memory:' });
  for (const event of events()) await log.append(event);
});

afterEach(async () => {
  await exporter?.shutdown();
  await receiver?.close();
  await log.close();
  exporter = undefined;
  receiver = undefined;
});

async function storedRecords(): Promise<ChainedRecord[]> {
  const records: ChainedRecord[] = [];
  for await (const record of log.records()) records.push(record);
  return records;
}

describe('createOtelAuditExporter', () => {
  it('sends one log record per audit record, as OTLP JSON, with the reins attributes', async () => {
    receiver = await startReceiver();
    exporter = createOtelAuditExporter({
      url: receiver.url,
      serviceName: 'reins-test',
      headers: { authorization: 'Bearer test-token' },
      timeoutMillis: 2000,
    });
    expect(await exporter.export(log.records())).toBe(20);

    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/logs');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBe('Bearer test-token');
    const resource = request?.body.resourceLogs[0]?.resource;
    expect(attributesOf(resource ?? { attributes: [] })['service.name']).toBe('reins-test');
    expect(request?.body.resourceLogs[0]?.scopeLogs[0]?.scope.name).toBe('reins.audit');

    const stored = await storedRecords();
    const logRecords = receiver.logRecords();
    expect(logRecords).toHaveLength(20);
    logRecords.forEach((logRecord, index) => {
      const record = stored[index] as ChainedRecord;
      const attributes = attributesOf(logRecord);
      expect(attributes).toMatchObject({
        'reins.seq': record.seq,
        'reins.hash': record.hash,
        'reins.prev_hash': record.prevHash,
        'reins.kind': record.kind,
        'reins.decision_id': record.decisionId,
        'reins.session_id': record.sessionId,
        'reins.agent_id': record.agentId,
        'reins.tool': 'crm/db.select',
        'reins.effect': record.effect,
        'reins.time': record.time,
      });
      expect(logRecord.body.stringValue).toBe(record.body);
      expect(logRecord.timeUnixNano).toBe(`${BigInt(Date.parse(record.time)) * 1_000_000n}`);
      expect(logRecord.eventName).toBe(
        record.kind === 'call-intent' ? 'reins.call_intent' : 'reins.call_outcome',
      );
      const warn = ['deny', 'denied', 'expired'].includes(record.effect);
      expect([logRecord.severityNumber, logRecord.severityText]).toEqual(warn ? [13, 'WARN'] : [9, 'INFO']);
    });

    // the first call: a denied intent and its outcome
    const [intent, outcome] = logRecords.map(attributesOf);
    expect(intent).toMatchObject({
      'reins.seq': 1,
      'reins.decision_id': 'd0',
      'reins.effect': 'deny',
      'reins.event_id': 'd0/intent',
      'reins.policy_hash': 'sha256:00',
      'reins.matched_rules': ['reads', 'no-pii'],
      'reins.latency_us': 10,
    });
    expect(outcome).toMatchObject({
      'reins.seq': 2,
      'reins.decision_id': 'd0',
      'reins.effect': 'denied',
      'reins.event_id': 'd0/outcome',
      'reins.latency_us': 1000,
    });
    expect(outcome).not.toHaveProperty('reins.policy_hash');
    expect(logRecords.map((record) => attributesOf(record)['reins.effect'])).toEqual([
      ...['deny', 'denied', 'allow', 'ok', 'allow', 'ok', 'deny', 'denied', 'approve', 'expired'],
      ...['allow', 'error', 'deny', 'denied', 'allow', 'ok', 'allow', 'ok', 'deny', 'denied'],
    ]);
  });

  it('sends large exports in ordered batches and accepts plain iterables', async () => {
    receiver = await startReceiver();
    exporter = createOtelAuditExporter({ url: receiver.url, maxBatchSize: 8, timeoutMillis: 2000 });
    const stored = await storedRecords();
    expect(await exporter.export(stored)).toBe(20);
    expect(
      receiver.received.map((request) => request.body.resourceLogs[0]?.scopeLogs[0]?.logRecords.length),
    ).toEqual([8, 8, 4]);
    expect(receiver.logRecords().map((record) => attributesOf(record)['reins.seq'])).toEqual(
      stored.map((record) => record.seq),
    );
    // a second export on the same exporter
    expect(await exporter.export(stored.slice(0, 3))).toBe(3);
    expect(receiver.logRecords()).toHaveLength(23);
    expect(await exporter.export([])).toBe(0);
  });

  it('rejects with a clear error when nothing listens at the endpoint, within the timeout', async () => {
    const closed = await startReceiver();
    await closed.close(); // the port is now free: connections are refused
    exporter = createOtelAuditExporter({ url: closed.url, timeoutMillis: 2000 });
    // the refusal ends the export (retries stay within timeoutMillis): were the timeout ignored, the
    // exporter's own deadline would end it later, with "no answer within 7000 ms"
    const failure = exporter.export(log.records());
    await expect(failure).rejects.toThrow(
      new RegExp(
        `^OTLP export to \`${closed.url}\` failed \\(0 delivered\\): connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+$`,
      ),
    );
  });

  it('rejects on an HTTP error, naming the status, the answer and what was already delivered', async () => {
    receiver = await startReceiver((request) =>
      request === 3 ? { status: 400, body: '{"message":"bad logs"}' } : { status: 200 },
    );
    exporter = createOtelAuditExporter({ url: receiver.url, maxBatchSize: 5, timeoutMillis: 2000 });
    await expect(exporter.export(log.records())).rejects.toThrow(
      /failed \(10 delivered, through record 10\): the receiver answered HTTP 400 Bad Request: \{"message":"bad logs"\}$/,
    );
    expect(receiver.received).toHaveLength(3); // stopped at the failed batch
    // the exporter is still usable: resume after the last delivered record
    receiver.received.length = 0;
    expect(await exporter.export(log.records({ afterSeq: 10 }))).toBe(10);
  });

  it('rejects when the receiver never answers, after the timeout', async () => {
    receiver = await startReceiver(() => 'hang');
    exporter = createOtelAuditExporter({ url: receiver.url, timeoutMillis: 1000 });
    // the request's timeout ends it: a request that ignored timeoutMillis would be ended later by the
    // exporter's own deadline, with "no answer within 6000 ms"
    await expect(exporter.export(log.records())).rejects.toThrow(
      /^OTLP export to .* failed .*: Request timed out$/,
    );
  });

  it('refuses a bad endpoint, and exports after shutdown', async () => {
    expect(() => createOtelAuditExporter({ url: 'not a url' })).toThrow(
      'OTLP endpoint `not a url` is not a URL',
    );
    expect(() => createOtelAuditExporter({ url: 'ftp://127.0.0.1/v1/logs' })).toThrow(
      'must be http or https',
    );
    receiver = await startReceiver();
    exporter = createOtelAuditExporter({ url: receiver.url });
    await exporter.shutdown();
    await expect(exporter.export(log.records())).rejects.toThrow('the OTLP audit exporter is shut down');
    expect(receiver.received).toHaveLength(0);
  });
});
