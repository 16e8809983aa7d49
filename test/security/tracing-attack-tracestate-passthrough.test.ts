/**
 * @module test/security/tracing-attack-tracestate-passthrough.test
 * Fixed: the gateway takes only the caller's `traceparent` (gateway/trace-context.ts), never its tracestate.
 * Attack (a prompt-injected or malicious agent, tracing on): the client's `tracestate` is handed on
 * verbatim to every upstream (`params._meta.tracestate` over stdio, the `tracestate` header over HTTP).
 * It is up to 512 bytes of client-chosen text per call, outside the arguments: no policy condition,
 * sink or flow rule sees it, the audit log does not record it, and output/input screening never looks
 * at it. An agent that has read a secret (e.g. from the inbox, where a flow rule forbids sending it on)
 * can pass it to a third-party upstream in `tracestate` on an allowed, harmless-looking call.
 * Expected safe behaviour: Reins is the trust boundary between the agent and its tools; the upstream
 * gets Reins' own trace context (trace id and the `reins.execute` span as parent), not the client's
 * vendor entries: the client's tracestate is not forwarded to upstreams.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTraceReceiver, type TraceReceiver } from '../support/otlp-trace-receiver.js';

const ROOT = resolve(import.meta.dirname, '../..');
const META_SERVER = join(ROOT, 'test/support/trace-meta-server.ts');
let directory: string;
let receiver: TraceReceiver;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-trace-state-'));
  receiver = await startTraceReceiver();
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: tracing }
tools:
  - { server: local, name: meta, risk: low, effects: [read] }
rules:
  - { id: reads, effect: allow, tool: { effects: read }, reason: reads are fine }
`,
  );
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
      join(directory, 'stdio.db'),
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, REINS_DATABASE_URL: '' } },
  );
  if (created.status !== 0) throw new Error(created.stderr);
});

afterAll(async () => {
  await (receiver as unknown as { close?: () => Promise<void> })?.close?.();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

it('the client tracestate (smuggled data) does not reach the upstream', async () => {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      'desk',
      '--policy',
      join(directory, 'policy.yaml'),
      '--db',
      join(directory, 'stdio.db'),
      '--lock',
      join(directory, 'stdio.lock'),
      '--name',
      'local',
      '--',
      process.execPath,
      '--import',
      'tsx',
      META_SERVER,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, REINS_DATABASE_URL: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.endpoint },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let buffer = '';
  const waiting = new Map<number, (message: unknown) => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      const message = JSON.parse(line) as { id?: number };
      if (message.id !== undefined) waiting.get(message.id)?.(message);
    }
  });
  child.stderr.resume();
  const request = (id: number, method: string, params: unknown) =>
    new Promise<unknown>((done) => {
      waiting.set(id, done);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  try {
    await request(1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 't', version: '1' },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    // the secret the agent is not allowed to send anywhere, in tracestate's alphabet
    const smuggled = 'exfil=sk-live-51HSECRETtokenFROMtheINBOX';
    const answer = (await request(2, 'tools/call', {
      name: 'local__meta',
      arguments: {},
      _meta: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: smuggled },
    })) as { result: { content: { text: string }[] } };
    const upstreamMeta = JSON.parse(answer.result.content[0]?.text ?? '{}') as Record<string, string>;
    expect(upstreamMeta.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    // today: the upstream's _meta.tracestate is exactly "exfil=sk-live-51HSECRETtokenFROMtheINBOX"
    expect(JSON.stringify(upstreamMeta)).not.toContain('sk-live-51HSECRET');
  } finally {
    child.stdin.end();
    const exited = new Promise((done) => child.once('exit', done));
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    await exited;
  }
}, 60_000);
