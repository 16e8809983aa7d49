/**
 * @module gateway/upstream.test
 * An upstream's changed tool list: against the official SDK server over Streamable HTTP on a loopback
 * port, a burst of `notifications/tools/list_changed` while a listing is under way is answered with
 * one more listing, not one per notification, and the tools listed last are the ones kept.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.js';
import { Upstream } from './upstream.js';

let http: HttpServer | undefined;
let upstream: Upstream | undefined;
afterEach(async () => {
  await upstream?.close();
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
