/**
 * @module test/held-call-falsy-ids.test
 * Finding (security test, HIGH): a call held for approval whose JSON-RPC request id is `0` or `""`
 * outlived its client. The SDK's server skips a cancellation whose requestId is falsy, so neither a
 * disconnect (HTTP) nor `notifications/cancelled` ended the held call: approving it later ran the tool,
 * and once id 0 was free again, a second request with it took the first one's abort handle, so not even
 * ending the session stopped the first. Decision 0018 promises that a held call ends with its client.
 * End to end, by raw JSON-RPC (the SDK client never sends these ids for a call): over Streamable HTTP
 * (`reins gateway`) and over stdio (`reins mcp`), a counting upstream that records every execution,
 * votes cast by a separate CLI process.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { eventually, present } from './support/eventually.js';
import { COUNTING_SERVER, useHeldCallGateway } from './support/held-call-gateway.js';
import { connectHttpSession, sessionHeaders } from './support/http-gateway.js';

const ROOT = resolve(import.meta.dirname, '..');

const fixture = useHeldCallGateway('reins-falsy-ids-');

/** Abandoned, and the tool never ran for `marker`. */
const expectAbandoned = (agent: string, decisionId: string, marker: string) =>
  fixture.expectAbandoned(agent, decisionId, (run) => run.args.marker === marker);

const heldWrite = (id: RequestId, marker: string) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'counting__write', arguments: { marker } },
  });

const cancel = (requestId: RequestId) =>
  JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId, reason: 'no' } });

/** An MCP session opened by the SDK client; its later requests are raw POSTs with these headers. */
async function httpSession(agent: string): Promise<Record<string, string>> {
  fixture.createAgent(agent);
  const token = await fixture.tokenFor(agent);
  const { client, transport } = await connectHttpSession(fixture.gateway.endpoint, token);
  fixture.clients.push(client);
  return sessionHeaders(token, transport);
}

/** A held POST: its response (once over) and the way to drop its connection. */
function postHeld(headers: Record<string, string>, id: RequestId, marker: string) {
  const connection = new AbortController();
  const response = fetch(fixture.gateway.endpoint, {
    method: 'POST',
    headers,
    body: heldWrite(id, marker),
    signal: connection.signal,
  });
  return { response, disconnect: () => connection.abort() };
}

describe.each([
  ['0', 0],
  ['""', ''],
])('a held call with request id %s', (label, id) => {
  const name = label === '0' ? 'zero' : 'empty';

  it('over Streamable HTTP, ends when its client disconnects', async () => {
    const agent = `${name}-http-gone`;
    const headers = await httpSession(agent);
    const held = postHeld(headers, id, agent);
    const decisionId = await fixture.waitForHeld(agent);
    held.disconnect();
    await held.response.catch(() => {});
    await expectAbandoned(agent, decisionId, agent);
  }, 60_000);

  it('over Streamable HTTP, ends when its client cancels it', async () => {
    const agent = `${name}-http-cancel`;
    const headers = await httpSession(agent);
    const held = postHeld(headers, id, agent);
    const decisionId = await fixture.waitForHeld(agent);
    const told = await fetch(fixture.gateway.endpoint, { method: 'POST', headers, body: cancel(id) });
    expect(told.status).toBe(202);
    // the held POST ends without an answer, as MCP says for a cancelled request
    expect(await (await held.response).text()).not.toMatch(/"result"/);
    await expectAbandoned(agent, decisionId, agent);
  }, 60_000);

  it('over stdio, ends when its client cancels it', async () => {
    const agent = `${name}-stdio-cancel`;
    fixture.createAgent(agent);
    const mcp = rawStdio(agent);
    await mcp.request({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: INITIALIZE });
    mcp.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    mcp.write(heldWrite(id, agent));
    const decisionId = await fixture.waitForHeld(agent);
    mcp.write(cancel(id));
    await expectAbandoned(agent, decisionId, agent);
    // nothing answers the cancelled request (a later request is answered, so the server is alive)
    await mcp.request({ jsonrpc: '2.0', id: 'ping', method: 'ping' });
    expect(mcp.received.filter((message) => message.id === id)).toEqual([]);
  }, 60_000);
});

it('a request id 0 used again after a disconnect: ending the session ends both held calls', async () => {
  const agent = 'zero-reused';
  const headers = await httpSession(agent);
  const first = postHeld(headers, 0, `${agent}-1`);
  const firstId = await fixture.waitForHeld(agent);
  first.disconnect();
  await first.response.catch(() => {});
  // once the call is on record as over, the gateway has seen the disconnect: id 0 is free again
  await fixture.waitForOutcome(agent, firstId);
  const second = postHeld(headers, 0, `${agent}-2`);
  const secondId = await fixture.waitForHeld(agent, [firstId]);
  const ended = await fetch(fixture.gateway.endpoint, { method: 'DELETE', headers });
  expect(ended.status).toBe(200);
  await second.response.then((response) => response.text()).catch(() => {});
  await expectAbandoned(agent, firstId, `${agent}-1`);
  await expectAbandoned(agent, secondId, `${agent}-2`);
}, 60_000);

const INITIALIZE = {
  protocolVersion: '2025-06-18',
  capabilities: {},
  clientInfo: { name: 'falsy-ids-test', version: '1.0.0' },
};

interface RawMessage {
  id?: RequestId;
  result?: unknown;
  error?: unknown;
}

/** `reins mcp` spoken to line by line, every message it writes kept in `received`. */
function rawStdio(agent: string) {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/reins.js'),
      'mcp',
      '--agent',
      agent,
      '--policy',
      join(fixture.directory, 'policy.yaml'),
      '--db',
      fixture.db,
      '--lock',
      join(fixture.directory, 'reins.lock'),
      '--name',
      'counting',
      '--approval-timeout',
      '60000',
      '--',
      process.execPath,
      '--import',
      'tsx',
      COUNTING_SERVER,
      fixture.executions,
      'stdio',
    ],
    { env: { ...process.env, REINS_DATABASE_URL: '' }, cwd: ROOT },
  );
  fixture.processes.push(child);
  child.stderr.resume();
  const received: RawMessage[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    received.push(JSON.parse(line) as RawMessage);
  });
  const write = (line: string) => child.stdin.write(`${line}\n`);
  const request = async (message: { id: RequestId; [key: string]: unknown }): Promise<RawMessage> => {
    write(JSON.stringify(message));
    return eventually(
      () =>
        present(
          received.find((answer) => answer.id === message.id),
          `no answer to ${message.id}`,
        ),
      { timeoutMs: 20_000, what: `the answer to ${String(message.id)}` },
    );
  };
  return { write, request, received };
}
