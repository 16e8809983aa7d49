/**
 * @module test/fuzz/http-gateway.fuzz
 * Properties (a), (b) and (d) over the real Streamable HTTP endpoint: `reins gateway` (the built CLI,
 * a child process) in front of a counting upstream, under a deny-all policy. Each input is one HTTP
 * request with a random method and path, random headers (bearer: none, random, tampered or the real
 * one; MCP session id: none, random or the real one; content and protocol headers) and a random body
 * (JSON-RPC messages, broken JSON, invalid UTF-8). After each one the gateway process is alive, never
 * answered 500, answered errors clearly (JSON-RPC errors valid), ran nothing upstream, and still
 * answers a good request on the real session.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { ExecutionLog } from '../support/counting-tools.js';
import { credentialKeysBeside } from '../support/test-keys.js';
import { expectClearMessage, expectValidJsonRpcError, stringsIn, wireBytes } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

const ROOT = resolve(import.meta.dirname, '../..');
const UPSTREAM = 'up';

let child: ChildProcess;
let endpoint: string;
let token: string;
let session: string;
let log: ExecutionLog;
let stderr = '';
let exited: string | undefined;

beforeAll(async () => {
  const directory = mkdtempSync(join(tmpdir(), 'reins-fuzz-http-'));
  log = new ExecutionLog(join(directory, 'executions.jsonl'));
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
  const script = resolve(ROOT, 'test/support/counting-server.ts');
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: ${UPSTREAM}
    stdio: { command: ${JSON.stringify(process.execPath)}, args: ["--import", "tsx", ${JSON.stringify(script)}, ${JSON.stringify(log.file)}, ${UPSTREAM}], cwd: ${JSON.stringify(ROOT)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { maxMessageBytes: 65536, callTimeout: 10s, approvalTimeout: 1s }
`,
  );
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({
    id: 'fuzz-agent',
    owner: 'ana@example.com',
    roles: [],
    scopes: ['*'],
  });
  const auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  token = (await auth.issue('fuzz-agent', { sessionId: 'fuzz-session', ttlSeconds: 3_600 })).token;
  auth.close();
  await identity.close();

  child = spawn(
    process.execPath,
    [join(ROOT, 'bin/reins.js'), 'gateway', '--config', join(directory, 'reins.yaml')],
    {
      cwd: ROOT,
      env: { ...process.env, REINS_DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString()}`.slice(-20_000);
  });
  child.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1] as string);
    });
    child.on('exit', () => reject(new Error(`gateway did not start: ${stderr}`)));
  });
  session = await initialize();
}, 60_000);

afterAll(() => {
  child?.kill();
});

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** Opens an MCP session with the real credential; returns its id. */
async function initialize(): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'fuzz', version: '1' } },
    }),
  });
  await response.text();
  const id = response.headers.get('mcp-session-id');
  if (response.status !== 200 || id === null) throw new Error(`initialize failed: ${response.status}`);
  return id;
}

/** A good request on the real session: the gateway must still answer it. */
async function ping(): Promise<number> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      ...JSON_HEADERS,
      authorization: `Bearer ${token}`,
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'probe', method: 'ping' }),
  });
  await response.text();
  return response.status;
}

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 60,
});

const request = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constant('POST') },
    { weight: 2, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT', 'OPTIONS', 'PATCH', 'HEAD') },
  ),
  path: fc.oneof(
    { weight: 8, arbitrary: fc.constant('/mcp') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('/mcp/', '/MCP', '/mcp?x=1', '//mcp', '/mcp/../mcp', '/%6Dcp', '/'),
    },
  ),
  authorization: fc.oneof(
    { weight: 4, arbitrary: fc.constant('real') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: printable },
    { weight: 1, arbitrary: printable.map((text) => `Bearer ${text}`) },
    { weight: 1, arbitrary: fc.nat().map((at) => `tampered:${at}`) },
  ),
  sessionId: fc.oneof(
    { weight: 3, arbitrary: fc.constant('real') },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: printable },
  ),
  headers: fc.dictionary(
    fc.constantFrom(
      'content-type',
      'accept',
      'mcp-protocol-version',
      'last-event-id',
      'x-forwarded-for',
      'content-encoding',
      'transfer-encoding-x',
    ),
    printable,
    { maxKeys: 3 },
  ),
  body: wireBytes([UPSTREAM]),
});

type Input = typeof request extends fc.Arbitrary<infer T> ? T : never;

function headersOf(input: Input): Record<string, string> {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...input.headers };
  if (input.authorization === 'real') headers.authorization = `Bearer ${token}`;
  else if (input.authorization?.startsWith('tampered:')) {
    const at = Number(input.authorization.slice(9)) % token.length;
    headers.authorization = `Bearer ${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  } else if (input.authorization !== undefined) headers.authorization = input.authorization;
  if (input.sessionId === 'real') headers['mcp-session-id'] = session;
  else if (input.sessionId !== undefined) headers['mcp-session-id'] = input.sessionId;
  return headers;
}

/** Every JSON message in a response body (plain JSON, or the `data:` lines of an event stream). */
function messagesIn(contentType: string, text: string): unknown[] {
  if (contentType.includes('text/event-stream')) {
    return text
      .split('\n')
      .filter((line) => line.startsWith('data:') && line.length > 5)
      .map((line) => JSON.parse(line.slice(5)));
  }
  if (text.length === 0) return [];
  return [JSON.parse(text)];
}

function checkAnswer(message: unknown, context: string, echoes: string[]): void {
  const items = Array.isArray(message) ? message : [message];
  for (const item of items as Record<string, unknown>[]) {
    if (typeof item.error === 'string') {
      // the gateway's own HTTP errors: { error: code, message }
      expectClearMessage(item.message, context, echoes);
    } else if (item.error !== undefined) {
      expectValidJsonRpcError(item.error, context, echoes);
    }
    const result = item.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
    if (result?.content !== undefined) {
      expect(result.isError, context).toBe(true);
      expectClearMessage(result.content.map((part) => part.text ?? '').join(''), context, echoes);
    }
  }
}

describe('fuzz: reins gateway over Streamable HTTP under a deny-all policy', () => {
  it(
    'survives any request, runs nothing upstream, answers clearly and still serves the real session',
    async () => {
      const statuses: Record<number, number> = {};
      await fuzz('http gateway (deny-all)', 120, request, async (input) => {
        const headers = headersOf(input);
        const withBody = !['GET', 'HEAD'].includes(input.method);
        const abort = new AbortController();
        const response = await fetch(`${endpoint.replace(/\/mcp$/, '')}${input.path}`, {
          method: input.method,
          headers,
          ...(withBody ? { body: input.body } : {}),
          signal: abort.signal,
        });
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const contentType = response.headers.get('content-type') ?? '';
        const sent = input.body.toString('utf8');
        const context = `${input.method} ${input.path} ${JSON.stringify(headers).slice(0, 400)} ${sent.slice(0, 400)} -> ${response.status}`;
        expect(response.status, context).not.toBe(500);
        if (input.method === 'GET' && contentType.includes('text/event-stream')) {
          abort.abort(); // a standalone event stream stays open: the answer is its headers
        } else {
          const text = await response.text();
          const echoes = [...stringsIn(parsed(sent)), ...Object.values(headers)];
          for (const message of messagesIn(contentType, text))
            checkAnswer(message, `${context}: ${text.slice(0, 400)}`, echoes);
        }
        expect(exited, `gateway died after ${context}\n${stderr}`).toBeUndefined();
        expect(log.newSince(), `the upstream ran after ${context}`).toEqual([]);
        let status = await ping();
        if (
          status === 404 &&
          input.method === 'DELETE' &&
          input.sessionId === 'real' &&
          input.authorization === 'real'
        ) {
          session = await initialize(); // the fuzzer closed the real session, as a client may
          status = await ping();
        }
        expect(status, `the real session stopped answering after ${context}`).toBe(200);
      });
      console.log(`[fuzz] http gateway statuses: ${JSON.stringify(statuses)}`);
    },
    timeoutFor(),
  );
});

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
