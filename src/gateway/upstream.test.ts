/**
 * @module gateway/upstream.test
 * Against the official SDK server over Streamable HTTP on a loopback port:
 * - an upstream's changed tool list: a burst of `notifications/tools/list_changed` while a listing is
 *   under way is answered with one more listing, not one per notification, and the tools listed last
 *   are the ones kept;
 * - each session's share of the upstream (gateway/session-share): a session's request past it waits,
 *   unsent, while other sessions and an operator's requests go on; the wait counts against the call
 *   timeout, and a request cancelled while it waits is never sent.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ErrorCode, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.js';
import { type HoldingHttpUpstream, startHoldingHttpUpstream } from '../../test/support/holding-server.js';
import { ToolNotStarted } from '../harness/types.js';
import { Upstream, type UpstreamRequest } from './upstream.js';

let http: HttpServer | undefined;
let upstream: Upstream | undefined;
let holding: HoldingHttpUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  await holding?.close();
  http?.closeAllConnections();
  http?.close();
});

/**
 * An SDK server (one session) whose listings after the first wait for `release`; each listing names
 * its tool after its number. `streams` counts the standalone streams opened; `early` resolves when a
 * third listing is asked for before `release`.
 */
async function changingUpstream() {
  const state = { listings: 0, streams: 0, released: false };
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = () => {
      state.released = true;
      resolve();
    };
  });
  let tooMany = () => {};
  const early = new Promise<void>((resolve) => {
    tooMany = resolve;
  });
  const server = new Server(
    { name: 'changing', version: '1.0.0' },
    { capabilities: { tools: { listChanged: true } } },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const listing = ++state.listings;
    if (listing > 2 && !state.released) tooMany();
    if (listing > 1) await released;
    return { tools: [{ name: `v${listing}`, inputSchema: { type: 'object' as const } }] };
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() });
  await server.connect(transport);
  http = createServer((request, response) => {
    if (request.method === 'GET') state.streams++;
    void transport.handleRequest(request, response);
  });
  await new Promise<void>((done) => http?.listen(0, '127.0.0.1', () => done()));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  return { server, state, release, early, url };
}

describe('an upstream whose tools change', () => {
  it('lists them once more for a burst of change notifications, not once per notification', async () => {
    const { server, state, release, early, url } = await changingUpstream();
    upstream = new Upstream({ name: 'changing', http: { url, headers: {} } }, { callTimeoutMs: 10_000 });
    await upstream.connect();
    await eventually(() => state.streams === 1);
    for (let i = 0; i < 2_000; i++) void server.sendToolListChanged();
    // the client answers the ping after it has taken every notification sent before it; a listing
    // too many while the first one waits says at once that they were not taken together
    await Promise.race([server.ping(), early]);
    expect(state.listings).toBe(2); // the first notification's listing, waiting for `release`
    release();
    await eventually(() => upstream?.listTools()[0]?.name === 'v3');
    await server.ping();
    expect(state.listings).toBe(3);
  });
});

describe("each session's share of the upstream", () => {
  /** An upstream that holds calls, with a share of one call per session. */
  async function sharedUpstream(callTimeoutMs: number) {
    holding = await startHoldingHttpUpstream();
    upstream = new Upstream(
      { name: 'holding', http: { url: holding.url, headers: {} } },
      { callTimeoutMs, callsPerSession: 1 },
    );
    await upstream.connect();
    return { holds: holding.holds, upstream };
  }

  const request = (session: string | undefined, signal = new AbortController().signal): UpstreamRequest => ({
    signal,
    session,
  });
  const pause = (ms: number) => new Promise((done) => setTimeout(done, ms));

  it('keeps a request past it unsent while other sessions and operators go on', async () => {
    const { holds, upstream } = await sharedUpstream(10_000);
    const hold = (who: string, session: string | undefined) => {
      const call = upstream.callTool('hold', { who }, request(session));
      call.catch(() => {}); // one left unanswered by a failing test is no unhandled rejection
      return call;
    };
    const first = hold('a-first', 'a');
    await eventually(() => holds.received.length === 1);
    const second = hold('a-second', 'a');
    const cancel = new AbortController();
    const cancelled = upstream.callTool('hold', { who: 'a-cancelled' }, request('a', cancel.signal));
    void hold('b', 'b');
    void hold('operator', undefined);
    await eventually(() => holds.received.length === 3);
    cancel.abort(new Error('the caller cancelled'));
    await expect(cancelled).rejects.toBeInstanceOf(ToolNotStarted);
    await pause(200);
    expect(holds.received.map((received) => received.args.who).sort()).toEqual(['a-first', 'b', 'operator']);
    holds.release(1); // the oldest: the first call of `a`, whose turn passes to its second
    await first;
    await eventually(() => holds.from('a-second').length === 1);
    holds.open();
    await second;
    expect(holds.from('a-cancelled')).toEqual([]);
  });

  it('counts the wait for a turn against the call timeout', async () => {
    const { holds, upstream } = await sharedUpstream(2_000);
    void upstream.callTool('hold', { who: 'first' }, request('a')).catch(() => {});
    await eventually(() => holds.received.length === 1);
    const started = Date.now();
    const waiting = upstream.callTool('hold', { who: 'waiting' }, request('a'));
    waiting.catch(() => {});
    await pause(1_000);
    holds.release(1); // the second goes out with what is left of its timeout, about a second
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.RequestTimeout });
    // two seconds in all, not one waiting and two more once sent
    expect(Date.now() - started).toBeLessThan(2_700);
    expect(holds.from('waiting')).toHaveLength(1);
  });
});
