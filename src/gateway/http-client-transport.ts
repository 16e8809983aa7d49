/**
 * @module gateway/http-client-transport
 * The client end of the gateway's connection to a Streamable HTTP upstream, in place of the SDK's
 * `StreamableHTTPClientTransport`. That one sends every message with `fetch` (undici), whose request,
 * header and web-stream machinery cost several times what Node's own HTTP client does per call
 * (bench/http-transport.ts measures both); this one uses `node:http(s)` with a keep-alive agent of its
 * own, so calls reuse their connections. It speaks the same protocol as far as the gateway uses it:
 * POST every message with the session id and protocol version once known; read the answer as a JSON
 * body or an event stream (SSE), whichever the server chose; open the session's standalone event
 * stream (GET) after `notifications/initialized` (tool list changes arrive on it) and reopen it a few
 * times if it drops. No OAuth, no redirects (an upstream is configured with its headers and its final
 * URL), no resumption (no Last-Event-ID).
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

export interface HttpClientTransportOptions {
  /** Sent with every request (the upstream's configured headers, e.g. its credential). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers for the request being sent now, e.g. the running call's trace context. */
  readonly headersNow?: () => Readonly<Record<string, string>> | undefined;
  /** Largest answer read (a JSON body or one event); a larger one fails the request. */
  readonly maxMessageBytes: number;
  /** How often, and after how long, a dropped standalone stream is opened again. */
  readonly reconnect?: { readonly attempts: number; readonly delayMs: number };
}

/** As the SDK's: two more tries, a second apart, growing by half. */
const RECONNECT = { attempts: 2, delayMs: 1_000 };
/** An idle connection is closed after this long unless the server says sooner (as undici does). */
const IDLE_CONNECTION_MS = 4_000;

export class HttpClientTransport implements Transport {
  onmessage?: Transport['onmessage'];
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  private session: string | undefined;
  private protocolVersion: string | undefined;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  /** Requests under way, ended when the transport closes. */
  private readonly open = new Set<{ destroy: () => void }>();
  /** Requests sent whose answers are not in yet; those among them the client cancelled. */
  private readonly awaiting = new Set<RequestId>();
  private readonly cancelled = new Set<RequestId>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly url: URL,
    private readonly options: HttpClientTransportOptions,
  ) {
    const secure = url.protocol === 'https:';
    this.agent = secure
      ? new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS })
      : new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_MS });
    this.request = secure ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  get sessionId(): string | undefined {
    return this.session;
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the transport is started already');
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:')
      throw new Error(
        `\`${this.url.protocol}\` is not HTTP: an HTTP upstream's URL starts with http: or https:`,
      );
    this.started = true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const request of this.open) request.destroy();
    this.open.clear();
    this.agent.destroy();
    this.onclose?.();
  }

  /**
   * POSTs a message. Resolves once the server took it; a request's answer arrives through `onmessage`
   * (from a JSON body, read before this resolves, or from an event stream, read as it comes).
   */
  async send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    const cancelling = cancelledBy(message);
    if (cancelling !== undefined && this.awaiting.has(cancelling)) this.cancelled.add(cancelling);
    const id = 'method' in message && 'id' in message ? message.id : undefined;
    if (id !== undefined) this.awaiting.add(id);
    let streamed = false;
    try {
      const body = JSON.stringify(message);
      const response = await this.exchange('POST', body, 'application/json, text/event-stream');
      const session = response.headers['mcp-session-id'];
      if (typeof session === 'string') this.session = session;
      if (response.statusCode === 202) {
        response.resume();
        if ('method' in message && message.method === 'notifications/initialized')
          this.openStandaloneStream(0);
        return;
      }
      if (!isOk(response)) throw await failure(response, 'POSTing to endpoint');
      if (id === undefined) return void response.resume(); // nothing to wait for
      const type = mediaType(response.headers['content-type']);
      if (type === 'application/json') return void this.dispatch(JSON.parse(await this.text(response)));
      if (type === 'text/event-stream') {
        streamed = true;
        return void this.readAnswerStream(response, id);
      }
      response.resume();
      throw new Error(`Streamable HTTP error: Unexpected content type: ${type}`);
    } catch (error) {
      const failed = error instanceof Error ? error : new Error(String(error));
      if (!this.closed) this.onerror?.(failed);
      throw failed;
    } finally {
      if (id !== undefined && !streamed) this.settled(id);
    }
  }

  /** The request's answer is in (or will never come): whether the client had cancelled it. */
  private settled(id: RequestId): boolean {
    this.awaiting.delete(id);
    return this.cancelled.delete(id);
  }

  /** One HTTP request; resolves with its response's head. */
  private exchange(
    method: 'GET' | 'POST',
    body: string | undefined,
    accept: string,
  ): Promise<IncomingMessage> {
    if (this.closed) return Promise.reject(new Error('the transport is closed'));
    const headers: OutgoingHttpHeaders = { ...this.options.headers, ...this.options.headersNow?.(), accept };
    if (this.session !== undefined) headers['mcp-session-id'] = this.session;
    if (this.protocolVersion !== undefined) headers['mcp-protocol-version'] = this.protocolVersion;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const request = this.request(this.url, { method, headers, agent: this.agent }, resolve);
      this.open.add(request);
      request.once('close', () => this.open.delete(request));
      request.on('error', reject); // also later ones (a connection reset while the body is read): no-ops then
      request.end(body);
    });
  }

  /** The whole body as text, within the size bound. */
  private text(response: IncomingMessage): Promise<string> {
    const limit = this.options.maxMessageBytes;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          response.destroy();
          reject(new Error(`the upstream's answer is larger than ${limit} bytes`));
        } else chunks.push(chunk);
      });
      response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.once('error', reject);
    });
  }

  /**
   * Hands the messages of a JSON body (one, or a batch) on, each checked to be JSON-RPC; true when the
   * answer to `answering` was among them.
   */
  private dispatch(data: unknown, answering?: RequestId): boolean {
    let answered = false;
    for (const item of Array.isArray(data) ? data : [data]) {
      const parsed = JSONRPCMessageSchema.safeParse(item);
      if (!parsed.success) {
        this.onerror?.(new Error('the upstream sent something that is not a JSON-RPC message'));
        continue;
      }
      const message = parsed.data;
      if (('result' in message || 'error' in message) && message.id === answering) answered = true;
      this.onmessage?.(message);
    }
    return answered;
  }

  /**
   * The event stream a request's answer comes on. If it ends without the answer (the upstream went
   * away, or sent an event past the size bound), the request fails at once with an error answer,
   * instead of waiting for its timeout; unless the client cancelled it (no answer is due then).
   */
  private async readAnswerStream(response: IncomingMessage, id: RequestId): Promise<void> {
    let answered = false;
    const why = await this.readEvents(response, (data) => {
      answered = this.dispatch(data, id) || answered;
    });
    const cancelled = this.settled(id);
    if (answered || cancelled || this.closed) return;
    this.onmessage?.({
      jsonrpc: '2.0',
      id,
      error: {
        code: ErrorCode.ConnectionClosed,
        message: `the upstream's answer did not arrive: ${why ?? 'its event stream ended before it'}`,
      },
    });
  }

  /**
   * Reads an event stream until it ends or breaks, handing on the data of each message event as it
   * arrives. Resolves with why it was cut short, if it was (an event past the size bound).
   */
  private readEvents(
    response: IncomingMessage,
    onData: (data: unknown) => void,
  ): Promise<string | undefined> {
    const parser = new EventStreamParser(this.options.maxMessageBytes, (data) => {
      try {
        onData(JSON.parse(data));
      } catch (error) {
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
      }
    });
    response.setEncoding('utf8');
    return new Promise((resolve) => {
      let why: string | undefined;
      response.on('data', (text: string) => {
        let fits: boolean;
        try {
          fits = parser.push(text);
        } catch {
          fits = false; // whatever the upstream sent, it must not end the gateway
        }
        if (fits) return;
        why = `an event from the upstream is larger than ${this.options.maxMessageBytes} bytes`;
        response.destroy();
        this.onerror?.(new Error(why));
      });
      response.once('close', () => resolve(why));
      response.on('error', (error) => {
        if (!this.closed) this.onerror?.(new Error(`SSE stream disconnected: ${error.message}`));
      });
    });
  }

  /**
   * GET: the session's standalone event stream, for messages that belong to no request (a changed tool
   * list); a server without one answers 405. One that ends is opened again after a pause; one that
   * cannot be opened is tried again a few times, with backoff.
   */
  private openStandaloneStream(attempt: number): void {
    this.exchange('GET', undefined, 'text/event-stream')
      .then(async (response) => {
        if (response.statusCode === 405) return void response.resume();
        if (!isOk(response)) throw await failure(response, 'opening the SSE stream');
        await this.readEvents(response, (data) => this.dispatch(data));
        this.reopenStandaloneStream(0);
      })
      .catch((error: unknown) => {
        if (this.closed) return;
        this.onerror?.(error instanceof Error ? error : new Error(String(error)));
        this.reopenStandaloneStream(attempt + 1);
      });
  }

  private reopenStandaloneStream(attempt: number): void {
    const { attempts, delayMs } = this.options.reconnect ?? RECONNECT;
    if (this.closed || attempt > attempts) return;
    this.reconnectTimer = setTimeout(() => this.openStandaloneStream(attempt), delayMs * 1.5 ** attempt);
    this.reconnectTimer.unref();
  }
}

/**
 * The `data` of each `message` event of a text/event-stream (the WHATWG format: fields per line, an
 * empty line ends an event, `:` starts a comment), fed in pieces as they arrive.
 */
export class EventStreamParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private size = 0;
  /** An event grew past the bound: nothing more is handed on. */
  private overflowed = false;

  constructor(
    private readonly maxEventBytes: number,
    private readonly onData: (data: string) => void,
  ) {}

  /** Takes the next piece of text; false when an event grows past the bound (stop reading then). */
  push(text: string): boolean {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const end = lineEnd(this.buffer, start);
      if (end === -1) break;
      this.line(this.buffer.slice(start, end));
      start = end + (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.buffer = this.buffer.slice(start);
    if (this.size + this.buffer.length > this.maxEventBytes) this.overflowed = true;
    return !this.overflowed;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      // each line counts with the line break it is joined with: empty `data:` lines are not free
      this.size += value.length + 1;
      if (this.size > this.maxEventBytes) this.overflowed = true;
    } else if (field === 'event') this.event = value;
  }

  private dispatch(): void {
    const data = this.data.join('\n');
    const event = this.event;
    this.data = [];
    this.event = '';
    this.size = 0;
    if (data !== '' && !this.overflowed && (event === '' || event === 'message')) this.onData(data);
  }
}

/** Where the first line break at or after `from` is (`\n`, `\r\n` or a lone `\r`), or -1. */
function lineEnd(text: string, from: number): number {
  const newline = text.indexOf('\n', from);
  const ret = text.indexOf('\r', from);
  if (ret === -1) return newline;
  // a `\r` at the very end may be the first half of `\r\n`: wait for the next piece
  if (ret === text.length - 1 && newline === -1) return -1;
  return newline === -1 ? ret : Math.min(newline, ret);
}

/** The request a `notifications/cancelled` names, if this is one. */
function cancelledBy(message: JSONRPCMessage): RequestId | undefined {
  if (!('method' in message) || message.method !== 'notifications/cancelled' || 'id' in message)
    return undefined;
  return (message.params as { requestId?: RequestId } | undefined)?.requestId;
}

function isOk(response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0;
  return status >= 200 && status < 300;
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** The error for a response that is not a success, with (the start of) what the server said. */
async function failure(response: IncomingMessage, doing: string): Promise<Error> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    if (size < 4_096) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const text = Buffer.concat(chunks).toString('utf8').slice(0, 4_096);
  return Object.assign(
    new Error(
      `Streamable HTTP error: Error ${doing}: ${response.statusCode} ${text || response.statusMessage}`,
    ),
    { code: response.statusCode },
  );
}
