/**
 * @module test/tracing.test
 * Traces end to end: a real gateway (`reins gateway`, in this process, and `reins mcp`, the built CLI)
 * exports its spans over OTLP/HTTP to a local receiver. The official SDK client sends tools/call with a
 * W3C `traceparent` whose trace id the test chose (an HTTP header, or `params._meta` over stdio); the
 * receiver must get the call's `reins.call` span and its stage spans in that trace, parented
 * correctly, and the upstream (an SDK server over Streamable HTTP, one over stdio) must be handed the
 * trace context of the execute stage. The remote protocol's open and outcome are traced the same way.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import { type RunningGateway, startHttpGateway, textOf } from './support/http-gateway.js';
import { type ReceivedSpan, startTraceReceiver, type TraceReceiver } from './support/otlp-trace-receiver.js';
import { connectThroughReins } from './support/reins-mcp-client.js';
import { startHttpMetaServer } from './support/trace-meta-server.js';

const ROOT = resolve(import.meta.dirname, '..');
const META_SERVER = join(ROOT, 'test/support/trace-meta-server.ts');
const STAGES = [
  'reins.decide',
  'reins.record-intent',
  'reins.gate',
  'reins.execute',
  'reins.filter-output',
  'reins.record-outcome',
];

/** A client's span context: a fresh trace id and span id each time, as an agent's framework would. */
function clientSpan(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
  const traceId = hex(16);
  const spanId = hex(8);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

let directory: string;
let receiver: TraceReceiver;
let upstream: Server;
/** The `traceparent` header of each tools/call the HTTP upstream received. */
const upstreamTraceparents: (string | undefined)[] = [];
let gateway: RunningGateway;
let token: string;
/** Sent as the `traceparent` header of every request of the HTTP client, while set. */
let headerTraceparent: string | undefined;
let client: Client;

/** The spans of one trace, once its root span (`name`) and `count` spans in all have arrived. */
function spansOf(traceId: string, name: string, count: number): Promise<ReceivedSpan[]> {
  return eventually(
    () => {
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      if (!spans.some((span) => span.name === name) || spans.length < count)
        throw new Error(`spans so far: ${spans.map((span) => span.name).join(', ') || 'none'}`);
      return spans;
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `the spans of trace ${traceId}` },
  );
}

function one(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found, name).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

/** The root span is the client's span's child; each stage span is the root's child, in order. */
function expectCallTrace(
  spans: readonly ReceivedSpan[],
  parentSpanId: string,
  stages = STAGES,
): ReceivedSpan {
  const root = one(spans, 'reins.call');
  expect(root.parentSpanId).toBe(parentSpanId);
  expect(root.service).toBe('reins-test');
  const children = spans.filter((span) => span !== root);
  expect(children.map((span) => span.name).sort()).toEqual([...stages].sort());
  for (const child of children) expect(child.parentSpanId).toBe(root.spanId);
  return root;
}

beforeAll(async () => {
  // export each batch at once rather than every 5 s (the SDK reads this when tracing starts)
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  directory = mkdtempSync(join(tmpdir(), 'reins-tracing-'));
  receiver = await startTraceReceiver();
  const http = await startHttpMetaServer((headers) =>
    upstreamTraceparents.push(headers.traceparent as string),
  );
  upstream = http.server;
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: tracing }
tools:
  - { server: local, name: meta, risk: low, effects: [read] }
  - { server: remote, name: meta, risk: low, effects: [read] }
  - { server: app, name: lookup, risk: low, effects: [read] }
rules:
  - { id: reads, effect: allow, tool: { effects: read }, reason: reads are fine }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: local
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [--import, tsx, ${JSON.stringify(META_SERVER)}], cwd: ${JSON.stringify(ROOT)} }
  - name: remote
    http: { url: "${http.url}" }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
telemetry:
  traces:
    otlp: { endpoint: "${receiver.endpoint}", headers: { x-collector-key: k-123 } }
    serviceName: reins-test
`,
  );
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({
    id: 'agent',
    owner: 'ana@example.com',
    roles: [],
    scopes: ['*'],
  });
  const keyDirectory = join(directory, '.reins-keys', 'credentials');
  createKeyDirectory(keyDirectory);
  const auth = await Authenticator.open({ store: identity, keys: directoryKeySource(keyDirectory) });
  token = (await auth.issue('agent', { sessionId: 'traced-session' })).token;
  auth.close();
  await identity.close();
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  client = new Client({ name: 'tracing-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.endpoint), {
      fetch: (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${token}`);
        if (headerTraceparent !== undefined) headers.set('traceparent', headerTraceparent);
        return fetch(url, { ...init, headers });
      },
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await gateway?.stop()).toBe(0);
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  await new Promise((done) => upstream?.close(done));
  await receiver?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('traces through the HTTP gateway', () => {
  it('continues the client’s trace from its traceparent header and passes it on to an HTTP upstream', async () => {
    const caller = clientSpan();
    headerTraceparent = caller.traceparent;
    const result = await client.callTool({ name: 'remote__meta', arguments: { note: 'hello' } });
    headerTraceparent = undefined;
    expect(result.isError).toBeFalsy();
    const spans = await spansOf(caller.traceId, 'reins.call', STAGES.length + 1);
    const root = expectCallTrace(spans, caller.spanId);
    expect(root.attributes).toMatchObject({
      'reins.tool.server': 'remote',
      'reins.tool.name': 'meta',
      'reins.agent.id': 'agent',
      'reins.session.id': 'traced-session',
      'reins.decision.effect': 'allow',
      'reins.decision.decided_by': ['reads'],
      'reins.call.outcome': 'ok',
    });
    expect(JSON.stringify(spans)).not.toContain('hello');
    // the upstream's request carries the execute stage's span as its parent
    const execute = one(spans, 'reins.execute');
    expect(upstreamTraceparents.at(-1)).toBe(`00-${caller.traceId}-${execute.spanId}-01`);
    expect(receiver.contentTypes.every((type) => type.startsWith('application/json'))).toBe(true);
    expect(receiver.headers.at(-1)).toMatchObject({ 'x-collector-key': 'k-123' });
    expect(gateway.log.join('\n')).toContain(`tracing every call to ${receiver.endpoint}`);
  });

  it('passes the trace on to a stdio upstream in params._meta', async () => {
    const caller = clientSpan();
    headerTraceparent = caller.traceparent;
    const result = await client.callTool({ name: 'local__meta', arguments: {} });
    headerTraceparent = undefined;
    const spans = await spansOf(caller.traceId, 'reins.call', STAGES.length + 1);
    expectCallTrace(spans, caller.spanId);
    const execute = one(spans, 'reins.execute');
    expect(JSON.parse(textOf(result)).traceparent).toBe(`00-${caller.traceId}-${execute.spanId}-01`);
  });

  it('reads params._meta.traceparent when the HTTP request has no traceparent header', async () => {
    const caller = clientSpan();
    await client.callTool({
      name: 'remote__meta',
      arguments: {},
      _meta: { traceparent: caller.traceparent },
    });
    const spans = await spansOf(caller.traceId, 'reins.call', STAGES.length + 1);
    expectCallTrace(spans, caller.spanId);
  });

  it('starts a trace of its own for a call that brings none', async () => {
    const before = new Set(receiver.spans.map((span) => span.traceId));
    const refused = await client.callTool({ name: 'remote__meta', arguments: { x: 1 }, _meta: {} });
    expect(refused.isError).toBeFalsy();
    const fresh = await eventually(
      () => {
        const root = receiver.spans.find((span) => span.name === 'reins.call' && !before.has(span.traceId));
        if (root === undefined) throw new Error('no new trace yet');
        return root;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'a new trace' },
    );
    expect(fresh.parentSpanId ?? '').toBe('');
  });

  it('traces the remote protocol: open and outcome under the caller’s trace', async () => {
    const caller = clientSpan();
    const origin = new URL(gateway.endpoint).origin;
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      traceparent: caller.traceparent,
    };
    const opened = await fetch(`${origin}/v1/calls`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ tool: 'app/lookup', args: { id: 7 } }),
    });
    const state = (await opened.json()) as { id: string; status: string };
    expect(state.status).toBe('ready');
    const completed = await fetch(`${origin}/v1/calls/${encodeURIComponent(state.id)}/outcome`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ok: true, result: { found: true } }),
    });
    expect(completed.status).toBe(200);
    const spans = await spansOf(caller.traceId, 'reins.complete', 7);
    const open = one(spans, 'reins.open');
    const complete = one(spans, 'reins.complete');
    for (const root of [open, complete]) {
      expect(root.parentSpanId).toBe(caller.spanId);
      expect(root.attributes['reins.decision.id']).toBe(state.id);
    }
    const childrenOf = (root: ReceivedSpan) =>
      spans.filter((span) => span.parentSpanId === root.spanId).map((span) => span.name);
    expect(childrenOf(open)).toEqual(['reins.decide', 'reins.record-intent', 'reins.gate']);
    expect(childrenOf(complete)).toEqual(['reins.filter-output', 'reins.record-outcome']);
    expect(complete.attributes['reins.call.outcome']).toBe('ok');
  });
});

describe('traces through reins mcp (stdio)', () => {
  it('continues the trace of params._meta.traceparent, exports to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, flushes when it ends', async () => {
    const db = join(directory, 'stdio.db');
    const created = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin/reins.js'),
        'agents',
        'create',
        'desk',
        '--owner',
        'ana@example.com',
        '--scopes',
        'local/*',
        '--db',
        db,
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
    );
    if (created.status !== 0) throw new Error(created.stderr);
    const stderr: string[] = [];
    const stdio = await connectThroughReins({
      agent: 'desk',
      policy: join(directory, 'policy.yaml'),
      db,
      lock: join(directory, 'stdio.lock'),
      name: 'local',
      upstream: ['--import', 'tsx', META_SERVER],
      clientName: 'tracing-stdio-test',
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: 'reins-test',
        // no batch is exported while it runs: what arrives was flushed when it ended
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
      onStderr: (chunk) => stderr.push(chunk),
    });
    const caller = clientSpan();
    let result: unknown;
    try {
      result = await stdio.callTool({
        name: 'local__meta',
        arguments: {},
        _meta: { traceparent: caller.traceparent },
      });
    } finally {
      await stdio.close();
    }
    const spans = await spansOf(caller.traceId, 'reins.call', STAGES.length + 1);
    expectCallTrace(spans, caller.spanId);
    const execute = one(spans, 'reins.execute');
    expect(JSON.parse(textOf(result)).traceparent).toBe(`00-${caller.traceId}-${execute.spanId}-01`);
    expect(stderr.join('')).toContain(`tracing every call to ${receiver.endpoint}`);
  });
});
