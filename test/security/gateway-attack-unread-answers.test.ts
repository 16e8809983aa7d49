/**
 * @module test/security/gateway-attack-unread-answers.test
 * Finding (outside attack, low-medium): an event stream whose client stopped reading was cut off past
 * 8 MiB unread, but answers sent as plain JSON bodies had no such bound. A client that sent many
 * requests with large answers on one connection (pipelined: HTTP/1.1 answers them in order, each
 * queued behind the one before) and never read made the gateway keep every answer in its memory until
 * the client closed the connection; many such connections could exhaust it. Now what a connection
 * holds unread is bounded for JSON answers as for event streams (`MAX_UNREAD_BYTES`, one mechanism in
 * gateway/http-io): past it the connection is cut off as a client that went away, so its requests
 * still under way are cancelled (decision 0018: a held call ends `abandoned`), and the operator's log
 * says so.
 *
 * End to end: a raw client (a `node:net` socket, so that it controls reading) against `reins gateway`
 * in this process, in front of test/support/large-answer-server.ts, whose `large` answers 2 MiB to a
 * request of a few hundred bytes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import type { CallOutcomeEvent } from '../../src/spec/audit-event.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from '../support/eventually.js';
import {
  connectHttpSession,
  type RunningGateway,
  sessionHeaders,
  startHttpGateway,
  textOf,
} from '../support/http-gateway.js';
import { issueCredential } from '../support/test-keys.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVER = resolve(ROOT, 'test/support/large-answer-server.ts');
/** The bound, 8 MiB (`MAX_UNREAD_BYTES`), is a constant: the test sends five times as much. */
const ANSWER = 2 * 1024 * 1024;
const ANSWERS = 20;

let directory: string;
let db: string;
let gateway: RunningGateway;
const clients: Client[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-unread-answers-'));
  db = join(directory, 'reins.db');
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: unread-answers }
tools:
  - { server: files, name: large, risk: low, effects: [read] }
  - { server: files, name: write, risk: high, effects: [write] }
rules:
  - { id: reads, effect: allow, tool: { server: files, name: large }, reason: harmless }
  - { id: writes-need-a-human, effect: approve, tool: { server: files, name: write }, reason: every write is reviewed }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: files
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [--import, tsx, ${JSON.stringify(SERVER)}], cwd: ${JSON.stringify(ROOT)} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 60s, approvalTimeout: 120s }
`,
  );
  const identity = new SqliteIdentityStore({ path: db });
  await new AgentRegistry(identity).create({
    id: 'hoarder',
    owner: 'ana@example.com',
    roles: [],
    scopes: ['files/*'],
  });
  await identity.close();
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const client of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  if (directory) rmSync(directory, { recursive: true, force: true });
});

function tokenFor(agent: string): Promise<string> {
  return issueCredential(directory, db, agent, { sessionId: `${agent}-session` });
}

/** The outcomes recorded for the agent's calls of `files/<tool>`. */
async function outcomesOf(agent: string, tool: string): Promise<CallOutcomeEvent['outcome'][]> {
  const audit = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    const records = await audit.query({ kind: 'call-outcome', agentId: agent, tool: `files/${tool}` });
    return records.flatMap((record) => (record.event.kind === 'call-outcome' ? [record.event.outcome] : []));
  } finally {
    await audit.close();
  }
}

/** One HTTP/1.1 POST of `message` to the MCP endpoint, as bytes on the wire. */
function rawPost(url: URL, headers: Record<string, string>, message: unknown): string {
  const body = JSON.stringify(message);
  const lines = Object.entries({
    ...headers,
    host: url.host,
    'content-length': String(Buffer.byteLength(body)),
  });
  return `POST ${url.pathname} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n${body}`;
}

/** What a paused socket receives once it reads again: until the connection ends, or 3 s pass without a byte. */
async function readRest(socket: Socket): Promise<{ bytes: number; answers: number; ended: boolean }> {
  let text = '';
  let bytes = 0;
  return new Promise((done) => {
    let quiet: NodeJS.Timeout | undefined;
    const settle = (ended: boolean) => {
      clearTimeout(quiet);
      socket.removeAllListeners('data');
      // each answer begins with its status line; the bodies are JSON and runs of `x`
      done({ bytes, answers: (text.match(/HTTP\/1\.1 \d{3} /g) ?? []).length, ended });
    };
    const wait = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => settle(false), 3_000);
    };
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      text += chunk.toString('latin1').replace(/x{64,}/g, 'x'); // the `x` runs are not kept
      wait();
    });
    socket.once('end', () => settle(true));
    socket.once('error', () => settle(true)); // a reset connection has ended too
    wait();
    socket.resume();
  });
}

it('cuts off a connection whose client reads none of its JSON answers, as a client that went away', async () => {
  const token = await tokenFor('hoarder');
  const { client, transport } = await connectHttpSession(gateway.endpoint, token);
  clients.push(client);
  const url = new URL(gateway.endpoint);
  const headers = sessionHeaders(token, transport);
  const large = (n: number) => ({
    jsonrpc: '2.0',
    id: `large-${n}`,
    method: 'tools/call',
    params: { name: 'files__large', arguments: { size: ANSWER } },
  });
  // held for approval (nobody votes within the test): only the connection's end can end it
  const held = {
    jsonrpc: '2.0',
    id: 'held',
    method: 'tools/call',
    params: { name: 'files__write', arguments: {}, _meta: { progressToken: 'held' } },
  };
  const wire = [...Array.from({ length: ANSWERS }, (_, n) => large(n)), held]
    .map((message) => rawPost(url, headers, message))
    .join('');
  const socket = connect(Number(url.port), url.hostname);
  sockets.push(socket);
  socket.pause(); // it never reads: what the gateway answers stays with the gateway
  await new Promise<void>((done) => socket.once('connect', () => done()));
  socket.write(wire);

  // every large call ran (or was cancelled): each has its outcome on record
  await eventually(async () => expect((await outcomesOf('hoarder', 'large')).length).toBe(ANSWERS), {
    timeoutMs: 30_000,
    what: 'an outcome for every large call',
  });
  // Before the fix the gateway still held nearly all of the 40 MiB for the connection, and kept it
  // open: reading now got every answer. Now it was cut off past the bound: what is left to read is at
  // most the bound, the answer that crossed it, and what the kernel's socket buffers took (a few MiB).
  const rest = await readRest(socket);
  expect(rest, 'what the gateway kept for a client that did not read').toMatchObject({ ended: true });
  expect(rest.answers).toBeLessThan(ANSWERS);
  expect(rest.bytes).toBeLessThan((ANSWERS * ANSWER) / 2);
  // its request still under way was cancelled as for a disconnect: the held call is abandoned
  await eventually(async () => expect(await outcomesOf('hoarder', 'write')).toEqual(['abandoned']), {
    timeoutMs: 15_000,
    what: 'the held call abandoned',
  });
  expect(gateway.log).toContainEqual(
    expect.stringMatching(/cut off a connection of MCP session \S+ of agent `hoarder`: .*unread/),
  );
  // the MCP session goes on, on connections that are read
  const small = await client.callTool({ name: 'files__large', arguments: { size: 5 } });
  expect(textOf(small)).toBe('xxxxx');
}, 90_000);
