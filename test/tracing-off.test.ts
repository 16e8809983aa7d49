/**
 * @module test/tracing-off.test
 * Tracing is off unless configured: a real gateway (in this process) without a `telemetry` section and
 * without the OTEL_EXPORTER_OTLP_* environment registers no tracer provider, propagator or context
 * manager, exports nothing, and passes no trace context on to its upstreams, even when the client sent
 * one (the HTTP upstream gets no `traceparent` header, the stdio upstream no `_meta.traceparent`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { propagation, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { type RunningGateway, startHttpGateway, textOf } from './support/http-gateway.js';
import { startHttpMetaServer } from './support/trace-meta-server.js';

const ROOT = resolve(import.meta.dirname, '..');
const META_SERVER = join(ROOT, 'test/support/trace-meta-server.ts');
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

let directory: string;
let upstream: Server;
const upstreamHeaders: Record<string, unknown>[] = [];
let gateway: RunningGateway;
let client: Client;

beforeAll(async () => {
  for (const name of Object.keys(process.env)) if (name.startsWith('OTEL_')) delete process.env[name];
  directory = mkdtempSync(join(tmpdir(), 'reins-tracing-off-'));
  const http = await startHttpMetaServer((headers) => upstreamHeaders.push(headers));
  upstream = http.server;
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: tracing-off }
tools:
  - { server: local, name: meta, risk: low, effects: [read] }
  - { server: remote, name: meta, risk: low, effects: [read] }
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
  const { token } = await auth.issue('agent', { sessionId: 'untraced-session' });
  auth.close();
  await identity.close();
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  client = new Client({ name: 'tracing-off-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.endpoint), {
      requestInit: { headers: { authorization: `Bearer ${token}`, traceparent: TRACEPARENT } },
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  expect(await gateway?.stop()).toBe(0);
  await new Promise((done) => upstream?.close(done));
  rmSync(directory, { recursive: true, force: true });
});

describe('without tracing configured', () => {
  it('registers nothing and passes no trace context on, though the client sent one', async () => {
    const remote = await client.callTool({ name: 'remote__meta', arguments: {} });
    expect(remote.isError).toBeFalsy();
    expect(upstreamHeaders).toHaveLength(1);
    expect(upstreamHeaders[0]).not.toHaveProperty('traceparent');
    const local = await client.callTool({
      name: 'local__meta',
      arguments: {},
      _meta: { traceparent: TRACEPARENT },
    });
    expect(JSON.parse(textOf(local))).not.toHaveProperty('traceparent');
    // the API is still its no-op: no provider, no propagator
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(propagation.fields()).toEqual([]);
  });
});
