/**
 * @module test/fuzz/stdio-gateway.fuzz
 * Properties (a), (b) and (d) over the stdio transport of the real gateway: `reins mcp` (the built
 * CLI, a child process) in front of a counting upstream (test/support/counting-server.ts), under a
 * deny-all policy (an allow-everything rule overridden by a deny-everything rule). Random bytes and
 * JSON-RPC messages — malformed, invalid UTF-8, odd methods, huge or deep params, tool calls with
 * tricky names and arguments — are written to its standard input. After each one:
 * - the gateway is still running and answers a good request (`tools/list`);
 * - the upstream has run nothing (it records every execution in a file, independently of Reins);
 * - every error and refusal it sent is a valid JSON-RPC error or a clear tool error, without internals.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionLog } from '../support/counting-tools.js';
import { expectClearMessage, expectValidJsonRpcError, stringsIn, wireBytes } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UPSTREAM = 'up';

/** A raw line-oriented JSON-RPC peer on a child's stdio: what the fuzzer writes and reads. */
class RawPeer {
  private buffer = '';
  private readonly waiting = new Map<string, (message: Record<string, unknown>) => void>();
  /** Messages received that are not answers to our probes, with what we sent before them. */
  readonly received: Record<string, unknown>[] = [];
  exited: string | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => this.take(chunk));
    child.on('exit', (code, signal) => {
      this.exited = `exited with ${code ?? signal}`;
      for (const resolve of this.waiting.values()) resolve({ exited: this.exited });
    });
  }

  write(bytes: Buffer): void {
    this.child.stdin?.write(Buffer.concat([bytes, Buffer.from('\n')]));
  }

  /** Sends a request with a fresh id and waits for its answer. */
  request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = `probe-${Math.random().toString(36).slice(2)}`;
    const answer = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.write(Buffer.from(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    return answer;
  }

  private take(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      const message = JSON.parse(line) as Record<string, unknown>; // the gateway must only write JSON
      const resolve = typeof message.id === 'string' ? this.waiting.get(message.id) : undefined;
      if (resolve) {
        this.waiting.delete(message.id as string);
        resolve(message);
      } else this.received.push(message);
    }
  }
}

let directory: string;
let child: ChildProcess;
let peer: RawPeer;
let log: ExecutionLog;
let stderr = '';

function reins(...args: string[]): void {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, REINS_DATABASE_URL: '' },
  });
  if (result.status !== 0) throw new Error(`reins ${args.join(' ')} failed: ${result.stderr}`);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-fuzz-stdio-'));
  log = new ExecutionLog(join(directory, 'executions.jsonl'));
  const db = join(directory, 'reins.db');
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: deny-all }
tools:
  - { server: "*", name: "*", risk: low, effects: [read] }
rules:
  - { id: allow-everything, effect: allow, reason: everything is allowed }
  - { id: deny-everything, effect: deny, reason: nothing may run }
`,
  );
  reins('agents', 'create', 'fuzz-agent', '--owner', 'ana@example.com', '--scopes', '*', '--db', db);
  child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      'fuzz-agent',
      '--policy',
      join(directory, 'policy.yaml'),
      '--db',
      db,
      '--lock',
      join(directory, 'reins.lock'),
      '--name',
      UPSTREAM,
      '--',
      process.execPath,
      '--import',
      'tsx',
      resolve(ROOT, 'test/support/counting-server.ts'),
      log.file,
      UPSTREAM,
    ],
    { cwd: ROOT, env: { ...process.env, REINS_DATABASE_URL: '' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString()}`.slice(-20_000);
  });
  peer = new RawPeer(child);
  const initialized = await peer.request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'fuzz', version: '1.0.0' },
  });
  expect(initialized.result, `initialize: ${JSON.stringify(initialized)}\n${stderr}`).toBeDefined();
  peer.write(Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })));
}, 60_000);

afterAll(() => {
  child?.kill();
});

/** What the gateway answered to the fuzz inputs, for the report. */
const answered = { errors: 0, refusals: 0 };
/** The last inputs: an answer may come after the next probe, and may quote any of them. */
const recent: string[] = [];

/** Checks what the gateway sent back: valid errors, clear refusals, and no tool result that ran. */
function checkReceived(): void {
  const echoes = recent.flatMap((sent) => stringsIn(parsedOrText(sent)));
  for (const message of peer.received.splice(0)) {
    const context = `answer ${JSON.stringify(message).slice(0, 500)} to one of ${JSON.stringify(recent).slice(0, 1_000)}`;
    expect(message.jsonrpc, context).toBe('2.0');
    if ('error' in message) {
      answered.errors++;
      expectValidJsonRpcError(message.error, context, echoes);
    }
    const result = message.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
    if (result?.content !== undefined) {
      // under deny-all, a tool call can only be refused
      answered.refusals++;
      expect(result.isError, context).toBe(true);
      expectClearMessage(result.content.map((part) => part.text ?? '').join(''), context, echoes);
    }
  }
}

function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe('fuzz: reins mcp over stdio under a deny-all policy', () => {
  it('lists no tools (the deny rule overrides the allow rule)', async () => {
    const listed = await peer.request('tools/list');
    expect(listed.result).toEqual({ tools: [] });
  });

  it(
    'survives any input, runs nothing upstream, and refuses clearly',
    async () => {
      await fuzz('stdio gateway (deny-all)', 150, wireBytes([UPSTREAM]), async (bytes) => {
        peer.write(bytes);
        const probe = await peer.request('tools/list');
        const sent = bytes.toString('utf8');
        recent.push(sent);
        if (recent.length > 3) recent.shift();
        expect(peer.exited, `gateway died after ${sent.slice(0, 500)}\n${stderr}`).toBeUndefined();
        expect(probe.result, `no answer after ${sent.slice(0, 500)}: ${JSON.stringify(probe)}`).toEqual({
          tools: [],
        });
        checkReceived();
        expect(log.newSince(), `the upstream ran after ${sent.slice(0, 500)}`).toEqual([]);
      });
      console.log(`[fuzz] stdio gateway answers: ${JSON.stringify(answered)}`);
      // a good call of a real tool, by its exact name, is refused too and says why
      const call = await peer.request('tools/call', { name: `${UPSTREAM}__read`, arguments: {} });
      expect(JSON.stringify(call.result)).toContain('Reins refused this call: nothing may run');
      expect(log.newSince()).toEqual([]);
    },
    timeoutFor(),
  );
});
