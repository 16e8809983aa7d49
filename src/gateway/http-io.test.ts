/**
 * @module gateway/http-io.test
 * Reading a request's body within its bound, over a real loopback connection with a keep-alive client:
 * a chunked body past the bound is answered and its connection closed, so the client's next request
 * goes out on a new one instead of hanging on a connection nobody reads any more; one declared past
 * it is drained, and its client gets the answer.
 */
import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authenticator } from '../auth/authenticator.js';
import { authenticateBearer, readBody, send } from './http-io.js';

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

/** A server that answers with the size of a body of at most 1 KiB, 413 past it. */
async function listen(): Promise<number> {
  const listening = createServer(async (incoming, response) => {
    const read = await readBody(incoming, response, 1_024);
    if (read.kind === 'too_large') return send(response, 413, { error: 'too_large' });
    send(response, 200, { size: read.text.length });
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return (listening.address() as AddressInfo).port;
}

/** POSTs `pieces`; resolves with the answer, its body read, and the socket it came on. */
function post(
  port: number,
  agent: Agent,
  pieces: readonly string[],
  headers: Record<string, string | number> = {},
): Promise<{ response: IncomingMessage; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const sent = request({ port, host: '127.0.0.1', method: 'POST', agent, headers }, (response) => {
      response.resume();
      response.once('end', () => resolve({ response, socket: sent.socket as Socket }));
    });
    sent.on('error', reject);
    for (const piece of pieces) sent.write(piece);
    sent.end();
  });
}

const closed = (socket: Socket) =>
  socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve));

describe('readBody', () => {
  it('closes the connection of a chunked body past the bound: the next request is answered', async () => {
    const port = await listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const big = await post(
      port,
      agent,
      Array.from({ length: 64 }, () => 'x'.repeat(1_024)),
    );
    expect(big.response.statusCode).toBe(413);
    expect(big.response.headers.connection).toBe('close');
    await closed(big.socket);
    const next = await post(port, agent, ['small']);
    expect(next.response.statusCode).toBe(200);
    agent.destroy();
  });

  it('drains a body declared past the bound: the client gets its answer, the next request too', async () => {
    const port = await listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pieces = Array.from({ length: 1_024 }, () => 'x'.repeat(1_024));
    const big = await post(port, agent, pieces, { 'content-length': 1_024 * 1_024 });
    expect(big.response.statusCode).toBe(413);
    const next = await post(port, agent, ['small']);
    expect(next.response.statusCode).toBe(200);
    agent.destroy();
  });

  it('keeps the connection of a body within the bound', async () => {
    const port = await listen();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await post(port, agent, ['a', 'b']);
    const second = await post(port, agent, ['c']);
    expect([first.response.statusCode, second.response.statusCode]).toEqual([200, 200]);
    expect(second.socket).toBe(first.socket);
    agent.destroy();
  });
});

describe('authenticateBearer', () => {
  /** What the authenticator is given for each `Authorization` header, and the status answered. */
  async function authenticate(authorization: string) {
    const given: string[] = [];
    const authenticator = {
      authenticate: async (bearer: string) => {
        given.push(bearer);
        return { ok: true };
      },
    } as unknown as Authenticator;
    const port = await new Promise<number>((resolve) => {
      const listening = createServer(async (incoming, response) => {
        if (await authenticateBearer(incoming, response, authenticator)) send(response, 200, {});
      });
      server = listening;
      listening.listen(0, '127.0.0.1', () => resolve((listening.address() as AddressInfo).port));
    });
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization } });
    server?.close();
    return { status: response.status, given };
  }

  it('takes the scheme in any case (RFC 9110: it is case-insensitive) and hands on the token alone', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      expect(await authenticate(`${scheme} abc.def`)).toEqual({ status: 200, given: ['abc.def'] });
  });

  it('refuses another scheme, or none, no token, a token with a space inside', async () => {
    for (const header of ['Basic abc', 'abc.def', 'Bearer', 'Bearer    ', 'Bearer abc.def x'])
      expect(await authenticate(header)).toEqual({ status: 401, given: [] });
  });
});
