/**
 * @module test/fuzz/remote-calls.fuzz
 * The remote enforcement protocol (`/v1/calls`, issue 15) under random requests: the built `reins
 * gateway` with no MCP upstream and a policy that allows `app/read`, denies `app/delete` and holds
 * `app/pay` (nobody ever approves). Each input is one request with a random method, a path among the
 * protocol's (with real ids of earlier calls, random ids and odd segments), a random bearer (real,
 * none, junk, tampered) and a random body (call requests with tricky tools, arguments and call ids;
 * outcome reports; junk). After each: the process is alive, never answered 500, errors are
 * `{error, message}` and clear, no call of `app/delete` or `app/pay` was ever ready or completed, and
 * no call took two outcomes. At the end every call has both records and the log verifies.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { credentialKeysBeside } from '../support/test-keys.js';
import { expectClearMessage, jsonValue, stringsIn, toolArguments } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

const ROOT = resolve(import.meta.dirname, '../..');

let child: ChildProcess;
let base: string;
let token: string;
let directory: string;
let stderr = '';
let exited: string | undefined;
/** Ids the gateway answered with, to aim later requests at real calls. */
const ids: string[] = [];
/** Calls whose outcome the gateway accepted (a second acceptance breaks "once"). */
const completed = new Set<string>();

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-fuzz-remote-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-fuzz }
tools:
  - { server: app, name: read, risk: low, effects: [read] }
  - { server: app, name: delete, risk: high, effects: [write] }
  - { server: app, name: pay, risk: high, effects: [external] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: read }, reason: reads are fine }
  - { id: no-deletes, effect: deny, tool: { server: app, name: delete }, reason: never delete }
  - { id: pay-held, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
redaction:
  outputs: { secret: redact }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
listen: { host: 127.0.0.1, port: 0 }
limits: { maxMessageBytes: 65536, approvalTimeout: 1h }
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
      cwd: directory,
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
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /listening on (\S+)/.exec(chunk.toString());
      if (match) resolve(match[1] as string);
    });
    child.on('exit', () => reject(new Error(`gateway did not start: ${stderr}`)));
  });
  base = endpoint.replace(/\/mcp$/, '');
}, 60_000);

afterAll(() => {
  child?.kill();
});

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 40,
});

const tool = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('app/read', 'app/delete', 'app/pay') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'app/READ',
      'app/read ',
      ' app/read',
      'app//read',
      'app/read/x',
      'app/re\u0430d',
      '/read',
      'app/',
    ),
  },
  { weight: 1, arbitrary: printable },
);

const openBody = fc.record(
  {
    tool,
    args: toolArguments,
    callId: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('c1', 'c2', 'c3') },
      { weight: 2, arbitrary: printable },
      { weight: 1, arbitrary: fc.string({ maxLength: 300 }) },
    ),
    userInput: fc.string({ maxLength: 50 }),
    inputs: fc.array(printable, { maxLength: 3 }),
  },
  { requiredKeys: ['tool'] },
);

const outcomeBody = fc.oneof(
  fc.record({ ok: fc.constant(true), result: jsonValue }),
  fc.record({ ok: fc.constant(false), error: fc.string({ maxLength: 80 }) }),
  fc.record({ ok: fc.boolean(), result: jsonValue, error: jsonValue }),
);

const junk = fc.oneof(
  jsonValue.map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ maxLength: 60 }),
);

const target = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'open' as const }) },
  { weight: 4, arbitrary: fc.nat().map((at) => ({ kind: 'known' as const, at })) },
  { weight: 1, arbitrary: printable.map((id) => ({ kind: 'random' as const, id })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/v1/calls/',
      '/v1/calls//outcome',
      '/v1/calls/%',
      '/v1/calls/%00',
      '/v1/calls/a/b/c',
      '/v1/callsX',
      '/v1/openapi.json',
    ),
  },
);

const request = fc.record({
  /** Mostly the method the endpoint takes; sometimes another. */
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'GET', 'POST') },
  ),
  target,
  outcome: fc.boolean(),
  wait: fc.oneof(fc.constant(undefined), fc.constantFrom('0', '0.1', '-1', 'x', '1e9', 'NaN')),
  authorization: fc.oneof(
    { weight: 8, arbitrary: fc.constant('real') },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: printable.map((text) => `Bearer ${text}`) },
    { weight: 1, arbitrary: fc.nat().map((at) => `tampered:${at}`) },
  ),
  contentType: fc.oneof(
    { weight: 12, arbitrary: fc.constant('application/json') },
    { weight: 1, arbitrary: printable },
  ),
  open: openBody.map((value) => JSON.stringify(value)),
  report: outcomeBody.map((value) => JSON.stringify(value)),
  junk: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: junk }),
});

type Input = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The method the endpoint takes, unless the input asks for another. */
function methodOf(input: Input, path: string): string {
  if (input.method !== null) return input.method;
  return path === '/v1/calls' || path.endsWith('/outcome') ? 'POST' : 'GET';
}

function bodyOf(input: Input, path: string): string {
  if (input.junk !== null) return input.junk;
  return path.endsWith('/outcome') ? input.report : input.open;
}

function pathOf(input: Input): string {
  const { target } = input;
  if (typeof target === 'string') return target;
  if (target.kind === 'open') return '/v1/calls';
  const id = target.kind === 'known' ? (ids[target.at % Math.max(1, ids.length)] ?? 'none') : target.id;
  const path = `/v1/calls/${encodeURIComponent(id)}${input.outcome ? '/outcome' : ''}`;
  return input.wait === undefined || input.outcome ? path : `${path}?wait=${input.wait}`;
}

function authorizationOf(input: Input): string | undefined {
  if (input.authorization === 'real') return `Bearer ${token}`;
  if (input.authorization?.startsWith('tampered:')) {
    const at = Number(input.authorization.slice(9)) % token.length;
    return `Bearer ${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
  }
  return input.authorization;
}

/** What must hold of every call state the gateway answers with. */
function checkState(state: Record<string, unknown>, accepted: boolean, context: string): void {
  if (typeof state.id === 'string' && !ids.includes(state.id)) ids.push(state.id);
  if (state.tool === 'app/delete' || state.tool === 'app/pay')
    expect(['ready', 'completed', 'failed'], `${context}: a refused or held call was released`).not.toContain(
      state.status,
    );
  if (accepted && typeof state.id === 'string') {
    expect(completed.has(state.id), `${context}: a second outcome was accepted`).toBe(false);
    completed.add(state.id);
  }
}

describe('fuzz: the remote enforcement protocol', () => {
  it(
    'survives any request, never releases a refused or held call, takes each outcome once, answers clearly',
    async () => {
      const statuses: Record<number, number> = {};
      await fuzz('remote protocol', 150, request, async (input) => {
        const path = pathOf(input);
        const method = methodOf(input, path);
        const body = bodyOf(input, path);
        const headers: Record<string, string> = { 'content-type': input.contentType };
        const authorization = authorizationOf(input);
        if (authorization !== undefined) headers.authorization = authorization;
        const response = await fetch(`${base}${path}`, {
          method,
          headers,
          ...(method === 'GET' ? {} : { body }),
        });
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        const text = await response.text();
        const context = `${method} ${path} ${body.slice(0, 300)} -> ${response.status} ${text.slice(0, 300)}`;
        expect(response.status, context).not.toBe(500);
        const answer = JSON.parse(text) as Record<string, unknown>;
        if (path === '/v1/openapi.json' && response.status === 200) expect(answer.openapi).toBe('3.1.0');
        else if (response.status === 200)
          checkState(answer, method === 'POST' && path.endsWith('/outcome'), context);
        else {
          expect(typeof answer.error, context).toBe('string');
          expectClearMessage(answer.message, context, [...stringsIn(parsed(body)), path]);
          if (answer.state !== undefined) checkState(answer.state as Record<string, unknown>, false, context);
        }
        expect(exited, `gateway died after ${context}\n${stderr}`).toBeUndefined();
      });
      console.log(`[fuzz] remote protocol statuses: ${JSON.stringify(statuses)}, ${ids.length} calls`);
      // every call opened has its intent; the ended ones their outcome, once; the log verifies
      const audit = new SqliteAuditLog({ path: join(directory, 'reins.db') });
      try {
        const outcomes = (await audit.query({ kind: 'call-outcome', limit: 10_000 })).map(
          (record) => record.event.decisionId,
        );
        expect(new Set(outcomes).size, 'a call with two outcomes').toBe(outcomes.length);
        const report = await audit.verify();
        expect(report.ok, JSON.stringify(report).slice(0, 400)).toBe(true);
      } finally {
        await audit.close();
      }
      const verified = spawnSync(
        process.execPath,
        [join(ROOT, 'bin/reins.js'), 'audit', 'verify', '--db', join(directory, 'reins.db')],
        {
          encoding: 'utf8',
          cwd: directory,
        },
      );
      expect(verified.status, verified.stdout + verified.stderr).toBe(0);
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
