/**
 * @module test/security/gateway-attack-upstream-starvation.test
 * Finding (outside attack, medium): the gateway forwards every session's allowed calls to the same
 * upstreams, and an HTTP upstream gets a bounded number of connections (128 by default, calls past them
 * wait for one): one agent that started many slow calls at once held them all, and every other agent's
 * calls to that upstream waited until their timeout. Now a Reins session has a share of calls in flight
 * to one upstream (`limits.maxUpstreamCallsPerSession`, default 16); a call past it waits in its
 * session's queue, holding no connection, and one cancelled or abandoned there is never forwarded and is
 * recorded as not run (one cancelled once forwarded may have taken effect, and is recorded so).
 *
 * End to end: official SDK clients over Streamable HTTP against `reins gateway` (in this process), in
 * front of an HTTP upstream that holds calls until the test lets them go and notes what it receives; its
 * connections are lowered to 20 (`http.maxConnections`) so that the starvation shows without 128
 * sockets. And the same share over stdio (`reins mcp`, the built CLI: `npm run build` first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import type { AuditEventV1, CallOutcomeEvent } from '../../src/spec/audit-event.js';
import { DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION as SHARE } from '../../src/spec/gateway-config.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { eventually, present } from '../support/eventually.js';
import {
  type HoldingHttpUpstream,
  type Received,
  receivedBy,
  releaseAll,
  startHoldingHttpUpstream,
} from '../support/holding-server.js';
import {
  connectHttp,
  exchangeToken,
  type RunningGateway,
  startHttpGateway,
  textOf,
} from '../support/http-gateway.js';
import { connectThroughReins } from '../support/reins-mcp-client.js';
import { issueCredential } from '../support/test-keys.js';

const HOLDING_SERVER = resolve(import.meta.dirname, '../support/holding-server.ts');
/** Calls one session starts at once: ten more than its share. */
const MANY = SHARE + 10;
/** The upstream's connections: more than one share (and its event stream), fewer than MANY. */
const CONNECTIONS = SHARE + 4;

let directory: string;
let db: string;
let upstream: HoldingHttpUpstream;
let gateway: RunningGateway;
const clients: Client[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-upstream-share-'));
  db = join(directory, 'reins.db');
  upstream = await startHoldingHttpUpstream();
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: upstream-share }
tools:
  - { server: up, name: hold, risk: low, effects: [read] }
  - { server: up, name: quick, risk: low, effects: [read] }
rules:
  - { id: all, effect: allow, tool: { server: up, name: "*" }, reason: harmless }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: up
    http: { url: ${JSON.stringify(upstream.url)}, maxConnections: ${CONNECTIONS} }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 30s }
`,
  );
  const identity = new SqliteIdentityStore({ path: db });
  const registry = new AgentRegistry(identity);
  for (const id of ['greedy', 'modest', 'queued', 'cancels', 'stdio', 'sybil', 'churner'])
    await registry.create({ id, owner: 'ana@example.com', roles: [], scopes: ['up/*'] });
  await identity.close();
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  upstream?.holds.open();
  for (const client of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  await upstream?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

/** An SDK client of `agent` over Streamable HTTP; every client of one agent is in the same Reins session. */
async function httpClient(agent: string): Promise<Client> {
  const client = await connectHttp(gateway.endpoint, await issued(agent));
  clients.push(client);
  return client;
}

/** An operator-issued credential of `agent`, in the session `<agent>-session`. */
function issued(agent: string): Promise<string> {
  return issueCredential(directory, db, agent, { sessionId: `${agent}-session` });
}

/** `hold` called by `who` with `n` = 0..count-1, all at once. */
function holdMany(client: Client, who: string, count: number): Promise<CallToolResult>[] {
  return Array.from({ length: count }, (_, n) => hold(client, who, n));
}

function hold(client: Client, who: string, n: number | string, signal?: AbortSignal) {
  const options = signal === undefined ? { timeout: 60_000 } : { timeout: 60_000, signal };
  const call = client.callTool({ name: 'up__hold', arguments: { who, n } }, undefined, options);
  call.catch(() => {}); // a test that fails early leaves calls unanswered: not unhandled rejections
  return call as Promise<CallToolResult>;
}

/** The `n` of each call received, in increasing order. */
const numbers = (received: readonly Received[]) =>
  received.map((call) => call.args.n as number).sort((a, b) => a - b);

const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Lets the HTTP upstream's holds go until every one of `calls` is answered; their answers. */
async function answered(calls: readonly Promise<CallToolResult>[]): Promise<CallToolResult[]> {
  let done = false;
  const all = Promise.all(calls).finally(() => {
    done = true;
  });
  while (!done) {
    upstream.holds.release(Number.POSITIVE_INFINITY);
    await pause(20);
  }
  return all;
}

/** The records of `agent`'s call of `hold` with argument `n`. */
async function recordsOf(agent: string, n: string): Promise<AuditEventV1[]> {
  const audit = new SqliteAuditLog({ path: db, readOnly: true });
  try {
    const records = await audit.query({ agentId: agent });
    const intent = records
      .map((record) => record.event)
      .find((event) => event.kind === 'call-intent' && event.args.n === n);
    if (intent === undefined) return [];
    return records.map((record) => record.event).filter((event) => event.decisionId === intent.decisionId);
  } finally {
    await audit.close();
  }
}

/** Once the call's intent is on record, it is a moment from its turn: give it that moment. */
async function waitingForItsTurn(agent: string, n: string): Promise<void> {
  await eventually(async () => (await recordsOf(agent, n)).length > 0, { what: `the intent of ${n}` });
  await pause(300);
}

async function outcomeOf(agent: string, n: string): Promise<CallOutcomeEvent> {
  return eventually(
    async () => {
      const outcome = (await recordsOf(agent, n)).find((event) => event.kind === 'call-outcome');
      return present(outcome?.kind === 'call-outcome' ? outcome : undefined, 'no outcome yet');
    },
    { what: `the outcome of ${n}` },
  );
}

/** How a call cancelled while it waited for its turn is recorded: cancelled, never started, not run. */
function expectNeverSent(outcome: CallOutcomeEvent): void {
  expect(outcome).toMatchObject({
    outcome: 'cancelled',
    error:
      'cancelled by the caller before the tool was started, so it did not run: ' +
      'it waited for its turn and was never sent to the upstream',
  });
  expect(outcome.startedAt).toBeUndefined();
}

describe('a session has a share of calls in flight to an upstream (over Streamable HTTP)', () => {
  it("one session's many slow calls leave the upstream's connections to other sessions", async () => {
    const greedy = await httpClient('greedy');
    const modest = await httpClient('modest');
    const calls = holdMany(greedy, 'greedy', MANY);
    await eventually(() => expect(upstream.holds.from('greedy').length).toBeGreaterThanOrEqual(SHARE));
    // before the share, the greedy session held every connection and this waited for its timeout
    const answer = await modest.callTool({ name: 'up__quick', arguments: { who: 'modest' } }, undefined, {
      timeout: 5_000,
    });
    expect(textOf(answer)).toBe('quick {"who":"modest"}');
    expect(upstream.holds.from('greedy')).toHaveLength(SHARE);
    expect(await answered(calls)).toHaveLength(MANY);
  }, 60_000);

  it("reaches the upstream with a session's calls past its share only as earlier ones end", async () => {
    const client = await httpClient('queued');
    const calls = holdMany(client, 'queued', MANY);
    const seen = () => upstream.holds.from('queued');
    await eventually(() => expect(seen().length).toBeGreaterThanOrEqual(SHARE));
    await pause(500);
    expect(seen()).toHaveLength(SHARE);
    upstream.holds.release(5);
    await eventually(() => expect(seen().length).toBeGreaterThanOrEqual(SHARE + 5));
    await pause(300);
    expect(seen()).toHaveLength(SHARE + 5);
    const answers = await answered(calls);
    expect(answers.map((answer) => answer.isError ?? false)).toEqual(calls.map(() => false));
    // every call ran, and never more than the share of them at once
    expect(numbers(seen())).toEqual(calls.map((_, n) => n));
    expect(Math.max(...seen().map((received) => received.holding))).toBe(SHARE);
  }, 60_000);

  it('never forwards a call cancelled, or abandoned by its client, while it waits for its turn', async () => {
    const client = await httpClient('cancels');
    // another MCP session of the same Reins session: the same share
    const leaving = await httpClient('cancels');
    const calls = holdMany(client, 'cancels', SHARE - 1);
    const stop = new AbortController();
    const running = hold(client, 'cancels', 'running', stop.signal);
    await eventually(() => expect(upstream.holds.from('cancels').length).toBe(SHARE));
    const cancel = new AbortController();
    const cancelled = hold(client, 'cancels', 'cancelled', cancel.signal);
    const abandoned = hold(leaving, 'cancels', 'abandoned');
    await waitingForItsTurn('cancels', 'cancelled');
    await waitingForItsTurn('cancels', 'abandoned');
    cancel.abort();
    await expect(cancelled).rejects.toThrow();
    await leaving.close();
    await expect(abandoned).rejects.toThrow();
    // recorded cancelled, and as never sent: they did not run (nothing to undo, nothing in the history)
    expectNeverSent(await outcomeOf('cancels', 'cancelled'));
    expectNeverSent(await outcomeOf('cancels', 'abandoned'));
    // one cancelled once the upstream had it may have taken effect, and is recorded so
    stop.abort();
    await expect(running).rejects.toThrow();
    expect(await outcomeOf('cancels', 'running')).toMatchObject({
      outcome: 'cancelled',
      error: 'cancelled by the caller after the tool was started: it may have taken effect',
      startedAt: expect.any(String),
    });
    await answered(calls);
    // their turn came when the others ended: give a wrongly kept call every chance to go out
    await pause(1_000);
    const seen = upstream.holds.from('cancels').map((received) => received.args.n);
    expect(seen).not.toContain('cancelled');
    expect(seen).not.toContain('abandoned');
    expect(seen).toHaveLength(SHARE);
  }, 60_000);
});

describe('an agent cannot take more than its share', () => {
  it('credentials it delegates to itself count in the share of the session they come from', async () => {
    // before: each self-delegated credential had a session, and so a share, of its own: three shares
    // (48 calls) filled the upstream's 20 connections and the modest agent's call timed out
    const root = await issued('sybil');
    const tokens = [
      root,
      await exchangeToken(gateway.endpoint, root, 'sybil', 't1'),
      await exchangeToken(gateway.endpoint, root, 'sybil', 't2'),
    ];
    const calls: Promise<CallToolResult>[] = [];
    for (const [index, token] of tokens.entries()) {
      const client = await connectHttp(gateway.endpoint, token);
      clients.push(client);
      for (let n = 0; n < SHARE; n++) calls.push(hold(client, 'sybil', `${index}.${n}`));
    }
    await eventually(() => expect(upstream.holds.from('sybil').length).toBeGreaterThanOrEqual(SHARE));
    const modest = await httpClient('modest');
    const answer = await modest.callTool({ name: 'up__quick', arguments: { who: 'modest' } }, undefined, {
      timeout: 5_000,
    });
    expect(textOf(answer)).toBe('quick {"who":"modest"}');
    expect(upstream.holds.from('sybil')).toHaveLength(SHARE);
    expect(await answered(calls)).toHaveLength(3 * SHARE);
  }, 60_000);

  it('a call it cancels once sent keeps its turn until its deadline: cancelling frees no room to send more', async () => {
    // MCP's cancellation asks the upstream to stop; it may go on. Before: cancelled calls gave their turns
    // back at once, and a session could start and cancel calls in a loop past its share
    const client = await httpClient('churner');
    const first = Array.from({ length: SHARE }, () => new AbortController());
    const started = first.map((stop, n) => hold(client, 'churner', `first.${n}`, stop.signal));
    await eventually(() => expect(upstream.holds.from('churner').length).toBe(SHARE));
    for (const stop of first) stop.abort();
    for (const call of started) await expect(call).rejects.toThrow();
    const again = Array.from({ length: SHARE }, () => new AbortController());
    const next = again.map((stop, n) => hold(client, 'churner', `again.${n}`, stop.signal));
    await waitingForItsTurn('churner', `again.${SHARE - 1}`);
    // give a turn wrongly given back every chance to go out
    await pause(1_000);
    expect(upstream.holds.from('churner')).toHaveLength(SHARE);
    for (const stop of again) stop.abort();
    for (const call of next) await expect(call).rejects.toThrow();
    expectNeverSent(await outcomeOf('churner', `again.${SHARE - 1}`));
  }, 60_000);
});

describe('the same share over stdio (reins mcp)', () => {
  it("forwards a session's calls past its share only as earlier ones end, and never a cancelled one", async () => {
    const work = mkdtempSync(join(directory, 'stdio-'));
    const client = await connectThroughReins({
      agent: 'stdio',
      policy: join(directory, 'policy.yaml'),
      db,
      lock: join(directory, 'stdio.lock'),
      name: 'up',
      upstream: ['--import', 'tsx', HOLDING_SERVER, work],
      clientName: 'upstream-share-test',
    });
    clients.push(client);
    const calls = holdMany(client, 'stdio', MANY);
    await eventually(() => expect(receivedBy(work).length).toBeGreaterThanOrEqual(SHARE));
    const cancel = new AbortController();
    const cancelled = hold(client, 'stdio', 'cancelled', cancel.signal);
    await waitingForItsTurn('stdio', 'cancelled');
    expect(receivedBy(work)).toHaveLength(SHARE);
    cancel.abort();
    await expect(cancelled).rejects.toThrow();
    expectNeverSent(await outcomeOf('stdio', 'cancelled'));
    releaseAll(work);
    const answers = await Promise.all(calls);
    expect(answers.map((answer) => answer.isError ?? false)).toEqual(calls.map(() => false));
    await pause(500);
    const seen = receivedBy(work);
    expect(numbers(seen)).toEqual(calls.map((_, n) => n));
    expect(Math.max(...seen.map((received) => received.holding))).toBe(SHARE);
  }, 60_000);
});
