import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RequestIdTransport } from './request-ids.js';

/** The real transport's place: records what goes out, lets the test play the client. */
class FakeTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  readonly sessionId = 'session-1';
  readonly sent: { message: JSONRPCMessage; options?: TransportSendOptions }[] = [];
  async start(): Promise<void> {}
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.sent.push(options === undefined ? { message } : { message, options });
  }
  async close(): Promise<void> {
    this.onclose?.();
  }
}

function setUp() {
  const inner = new FakeTransport();
  const outer = new RequestIdTransport(inner);
  const delivered: JSONRPCMessage[] = [];
  outer.onmessage = (message) => delivered.push(message);
  const request = (id: RequestId) =>
    inner.onmessage?.({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'write' } });
  const cancel = (requestId: RequestId) =>
    inner.onmessage?.({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId } });
  const idOf = (index: number) => (delivered[index] as { id: RequestId }).id;
  return { inner, outer, delivered, request, cancel, idOf };
}

/** The request a delivered cancellation names. */
const targetOf = (message: JSONRPCMessage | undefined) =>
  (message as { params?: { requestId?: RequestId } } | undefined)?.params?.requestId;

const answer = (id: RequestId): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: {} });

describe('RequestIdTransport', () => {
  it('gives every request a fresh positive integer id, and its answer the client id back', async () => {
    const { inner, outer, request, idOf } = setUp();
    request(0);
    request('');
    request(11);
    request('11');
    const ids = [0, 1, 2, 3].map(idOf);
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(Number.isSafeInteger(id) && (id as number) > 0).toBe(true);
    await outer.send(answer(ids[3] as RequestId));
    await outer.send(answer(ids[2] as RequestId));
    await outer.send({ jsonrpc: '2.0', id: ids[0] as RequestId, error: { code: -1, message: 'no' } });
    await outer.send(answer(ids[1] as RequestId));
    expect(inner.sent.map(({ message }) => (message as { id: RequestId }).id)).toEqual(['11', 11, 0, '']);
  });

  it('aims a cancellation of id 0 or "" at the request that carried it', () => {
    const { delivered, request, cancel, idOf } = setUp();
    request(0);
    request('');
    cancel(0);
    cancel('');
    expect(delivered.slice(2)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: idOf(0) } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: idOf(1) } },
    ]);
  });

  it('keeps 11 and "11" apart', () => {
    const { delivered, request, cancel, idOf } = setUp();
    request(11);
    request('11');
    cancel('11');
    expect(targetOf(delivered[2])).toBe(idOf(1));
  });

  it('drops a cancellation of an id it does not know, which could otherwise hit another request', () => {
    const { delivered, request, cancel, idOf } = setUp();
    request('a');
    cancel(idOf(0));
    cancel('b');
    expect(delivered).toHaveLength(1);
  });

  it('forgets a request once it is answered or cancelled: the id is free, its late messages dropped', async () => {
    const { inner, outer, delivered, request, cancel, idOf } = setUp();
    request(0);
    await outer.send(answer(idOf(0)));
    cancel(0); // answered already: nothing to cancel
    expect(delivered).toHaveLength(1);
    request(0);
    cancel(0);
    const cancelled = idOf(1);
    await outer.send(answer(cancelled));
    await outer.send(
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } },
      { relatedRequestId: cancelled },
    );
    expect(inner.sent).toHaveLength(1);
    expect(outer.inFlight).toBe(0);
    request(0);
    expect(idOf(3)).not.toBe(cancelled);
  });

  it("routes a request's notifications by the client's id", async () => {
    const { inner, outer, request, idOf } = setUp();
    request(0);
    const progress: JSONRPCMessage = {
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 0, progress: 1 },
    };
    await outer.send(progress, { relatedRequestId: idOf(0) });
    await outer.send(progress);
    expect(inner.sent).toEqual([
      { message: progress, options: { relatedRequestId: 0 } },
      { message: progress },
    ]);
  });

  it('cancels every request a client sent with the same id while the first was unanswered', () => {
    const { delivered, request, cancel, idOf } = setUp();
    request(5);
    request(5);
    cancel(5);
    const targets = delivered.slice(2).map(targetOf);
    expect(targets.sort()).toEqual([idOf(0), idOf(1)].sort());
  });

  it("passes the server's own requests and the client's answers to them through unchanged", async () => {
    const { inner, outer, delivered } = setUp();
    const ping: JSONRPCMessage = { jsonrpc: '2.0', id: 0, method: 'ping' };
    await outer.send(ping);
    inner.onmessage?.(answer(0));
    expect(inner.sent).toEqual([{ message: ping }]);
    expect(delivered).toEqual([answer(0)]);
  });

  it('passes on close, errors and the session id, and forgets everything on close', async () => {
    const { inner, outer, request } = setUp();
    let closed = 0;
    const errors: Error[] = [];
    outer.onclose = () => closed++;
    outer.onerror = (error) => errors.push(error);
    expect(outer.sessionId).toBe('session-1');
    request(1);
    inner.onerror?.(new Error('broken'));
    await outer.close();
    expect(closed).toBe(1);
    expect(errors.map((error) => error.message)).toEqual(['broken']);
    expect(outer.inFlight).toBe(0);
  });

  it("keeps a handler the real transport's owner set before wrapping", async () => {
    const inner = new FakeTransport();
    let ownerSawClose = false;
    inner.onclose = () => {
      ownerSawClose = true;
    };
    const outer = new RequestIdTransport(inner);
    let serverSawClose = false;
    outer.onclose = () => {
      serverSawClose = true;
    };
    await outer.close();
    expect([ownerSawClose, serverSawClose]).toEqual([true, true]);
  });
});
