/**
 * @module gateway/request-ids
 * The ids the SDK's server sees for a client's requests: a fresh positive integer per request, in place
 * of whatever the client chose. A Transport in front of the real one (HTTP session, stdio) for the
 * gateway's `Server`, because the SDK knows a running request by its id and ignores a cancellation
 * whose id is falsy (`if (!requestId) return` in `Protocol._oncancel`): a call held for approval with id
 * `0` or `""` survived its client's `notifications/cancelled` and its disconnect (decision 0018), and a
 * second request reusing the id took the first one's abort handle. Here a cancellation is aimed at the
 * request that carried the id (a Map keyed by the id as given: `11` and `"11"` stay apart), answers and
 * the notifications of a request (`relatedRequestId`, which the HTTP transport routes by) go out with
 * the client's id again, and a request is forgotten once it is answered or cancelled. Progress is keyed
 * by the client's `progressToken`, never by id, so it passes unchanged; so do the server's own requests
 * to the client and the client's answers to them (their ids are the server's).
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';

export class RequestIdTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  private nextId = 1;
  /** The client's id of each request being answered, by the id the server knows it by. */
  private readonly clientIds = new Map<number, RequestId>();
  /**
   * The server's ids by the client's. More than one only if the client used an id again while its first
   * request was unanswered (stdio lets it): a cancellation of that id then ends them all, never a guess.
   */
  private readonly serverIds = new Map<RequestId, Set<number>>();

  constructor(private readonly inner: Transport) {
    // whoever owns the real transport may listen already (the HTTP server, for its session table)
    const ownerClose = inner.onclose;
    const ownerError = inner.onerror;
    inner.onclose = () => {
      ownerClose?.();
      this.clientIds.clear();
      this.serverIds.clear();
      this.onclose?.();
    };
    inner.onerror = (error) => {
      ownerError?.(error);
      this.onerror?.(error);
    };
    inner.onmessage = (message, extra) => this.receive(message, extra);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** Requests the server is still answering (for tests: nothing stays behind). */
  get inFlight(): number {
    return this.clientIds.size;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (('result' in message || 'error' in message) && message.id !== undefined) {
      const clientId = this.forget(message.id);
      if (clientId === undefined) return; // cancelled: MCP wants no answer, and its id may be in use again
      return this.inner.send({ ...message, id: clientId }, options);
    }
    const related = options?.relatedRequestId;
    if (related === undefined) return this.inner.send(message, options);
    const clientId = typeof related === 'number' ? this.clientIds.get(related) : undefined;
    // its request is answered or cancelled: the client may use that id for another request by now
    if (clientId === undefined) return;
    return this.inner.send(message, { ...options, relatedRequestId: clientId });
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if ('method' in message && 'id' in message) {
      const serverId = this.nextId++;
      this.clientIds.set(serverId, message.id);
      const known = this.serverIds.get(message.id);
      if (known === undefined) this.serverIds.set(message.id, new Set([serverId]));
      else known.add(serverId);
      this.onmessage?.({ ...message, id: serverId }, extra);
      return;
    }
    if ('method' in message && message.method === 'notifications/cancelled') {
      const params = message.params as { requestId?: RequestId } | undefined;
      const targets = params?.requestId === undefined ? undefined : this.serverIds.get(params.requestId);
      // an id no request being answered carries: passed on, it could name another request's server id
      if (targets === undefined) return;
      for (const serverId of [...targets]) {
        this.forget(serverId);
        this.onmessage?.({ ...message, params: { ...params, requestId: serverId } }, extra);
      }
      return;
    }
    this.onmessage?.(message, extra);
  }

  /** Drops a request (answered or cancelled); returns the client's id it carried, if it was known. */
  private forget(serverId: RequestId): RequestId | undefined {
    if (typeof serverId !== 'number') return undefined;
    const clientId = this.clientIds.get(serverId);
    if (clientId === undefined) return undefined;
    this.clientIds.delete(serverId);
    const siblings = this.serverIds.get(clientId);
    siblings?.delete(serverId);
    if (siblings?.size === 0) this.serverIds.delete(clientId);
    return clientId;
  }
}
