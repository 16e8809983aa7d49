/**
 * @module test/security/tracing-attack-blackhole-collector.test
 * Fixed: OTLP export requests time out after 2 s and shutdown waits at most 2 s for the flush (telemetry/tracing.ts).
 * Attack / failure (network, or a malicious collector): the OTLP endpoint accepts TCP connections and
 * never answers (a black-holed collector, a firewall that drops, a hung proxy). Docs: "A collector that
 * is down loses spans, never calls" and "a process that stops exports what is still buffered before it
 * exits". Calls through `reins mcp` must keep answering promptly, and when the client closes stdin the
 * process must exit promptly (the flush is bounded by a short deadline), not sit on the dead collector
 * until the exporter's own timeouts (and retries) run out: an MCP client that restarts its server, or a
 * supervisor that waits for the old process, is held up meanwhile.
 * Expected safe behaviour: each call answers within a second; `reins mcp` exits within 3 s of stdin
 * closing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const META_SERVER = join(ROOT, 'test/support/trace-meta-server.ts');
let directory: string;
let blackhole: Server;
const sockets: Socket[] = [];
let endpoint: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-trace-blackhole-'));
  blackhole = createServer((socket) => {
    sockets.push(socket); // read nothing, answer nothing
  });
  await new Promise<void>((done) => blackhole.listen(0, '127.0.0.1', done));
  const address = blackhole.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}/v1/traces`;
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

afterAll(() => {
  for (const socket of sockets) socket.destroy();
  blackhole?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

it('reins mcp answers and exits promptly with a collector that never answers', async () => {
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
      env: {
        ...process.env,
        REINS_DATABASE_URL: '',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number>((done) => child.once('exit', () => done(Date.now())));
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
    for (let id = 2; id < 6; id++) {
      const started = Date.now();
      const answer = (await request(id, 'tools/call', { name: 'local__meta', arguments: {} })) as {
        result?: unknown;
      };
      expect(answer.result).toBeDefined();
      expect(Date.now() - started).toBeLessThan(1_000);
      await new Promise((done) => setTimeout(done, 300)); // a batch goes to the collector meanwhile
    }
    const closedAt = Date.now();
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const exitAt = await exited;
    clearTimeout(timer);
    expect(exitAt - closedAt, 'ms from stdin closed to exit').toBeLessThan(3_000);
  } finally {
    child.kill('SIGKILL');
  }
}, 60_000);
