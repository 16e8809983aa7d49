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
 *
 * A hung upstream holds nothing once a call is over: a request's HTTP exchange is ended when its
 * answer is in (an answer stream the upstream leaves open, shortly after), when it is cancelled (which
 * is also how the SDK ends a call that timed out), and a notification's POST the upstream does not
 * take in time is ended too; the connections to one upstream are bounded (`MAX_SOCKETS`). An answer
 * that cannot come (a JSON body without it, a 202) fails its request at once. A failed request tells
 * its caller, and so in the end an agent, only what failed (`upstream \`name\` is unavailable`, the
 * HTTP status); the detail (addresses, the upstream's error text) goes to `onerror`, which the
 * gateway's upstream logs for the operator (gateway/upstream).
 */
import {
  type ClientRequest,
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
import { describeError } from '../spec/errors.js';
import { DEFAULT_MAX_UPSTREAM_CONNECTIONS } from '../spec/gateway-config.js';

export interface HttpClientTransportOptions {
  /** The upstream's name, for the errors its failed requests give. */
  readonly name?: string;
  /** Sent with every request (the upstream's configured headers, e.g. its credential). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Headers for the request being sent now, e.g. the running call's trace context. */
  readonly headersNow?: () => Readonly<Record<string, string>> | undefined;
  /** Largest answer read (a JSON body or one event); a larger one fails the request. */
  readonly maxMessageBytes: number;
  /** How often, and after how long, a dropped standalone stream is opened again. */
  readonly reconnect?: { readonly attempts: number; readonly delayMs: number };
  /** Most connections open to the upstream at once (default `MAX_SOCKETS`). */
  readonly maxSockets?: number;
  /** How long a notification's POST waits for the upstream (default `NOTIFICATION_TIMEOUT_MS`). */
  readonly notificationTimeoutMs?: number;
}

/**
 * Connections open to one upstream at most, unless the upstream's `maxConnections` says otherwise;
 * requests past it wait for one (within their call's timeout). The standalone stream holds one; every
 * call under way, one.
 */
export const MAX_SOCKETS = DEFAULT_MAX_UPSTREAM_CONNECTIONS;
/** A notification's POST not taken by then is ended (its request would otherwise hold a connection). */
export const NOTIFICATION_TIMEOUT_MS = 10_000;
/** An answer stream still open this long after its answer is ended (an upstream ends its own sooner). */
const ANSWERED_STREAM_GRACE_MS = 1_000;

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
  /** The HTTP request each JSON-RPC request sent rides on, until it is over. */
  private readonly carriers = new Map<RequestId, ClientRequest>();
  /** Requests sent whose answers are not in yet; those among them the client cancelled. */
  private readonly awaiting = new Set<RequestId>();
  private readonly cancelled = new Set<RequestId>();
  private reconnectTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  /** How errors name the upstream. */
  private readonly upstream: string;

  constructor(
    private readonly url: URL,
    private readonly options: HttpClientTransportOptions,
  ) {
    const secure = url.protocol === 'https:';
    const agent = {
      keepAlive: true,
      timeout: IDLE_CONNECTION_MS,
      maxSockets: options.maxSockets ?? MAX_SOCKETS,
    };
    this.agent = secure ? new HttpsAgent(agent) : new HttpAgent(agent);
    this.upstream = options.name === undefined ? 'the upstream' : `upstream \`${options.name}\``;
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
    if (cancelling !== undefined && this.awaiting.has(cancelling)) {
      this.cancelled.add(cancelling);
      // no answer is due any more: whatever the upstream still does with it, the connection is freed
      this.carriers.get(cancelling)?.destroy();
    }
    const id = 'method' in message && 'id' in message ? message.id : undefined;
    if (id !== undefined) this.awaiting.add(id);
    let streamed = false;
    try {
      const response = await this.post(message, id);
      if (response.statusCode === 202) {
        response.resume();
        if (id !== undefined) throw this.failure('accepted the request without answering it (HTTP 202)');
        if ('method' in message && message.method === 'notifications/initialized')
          this.openStandaloneStream(0);
        return;
      }
      if (!isOk(response)) throw await this.refusal(response);
      if (id === undefined) return void response.resume(); // nothing to wait for
      const type = mediaType(response.headers['content-type']);
      if (type === 'application/json') return await this.readAnswerBody(response, id);
      if (type === 'text/event-stream') {
        streamed = true;
        return void this.readAnswerStream(response, id);
      }
      response.resume();
      throw this.failure('answered with a content type that is not MCP', `content type \`${type}\``);
    } catch (error) {
      // cancelled: its exchange was ended on purpose, and nobody waits for its answer any more
      if (id !== undefined && this.cancelled.has(id)) throw error;
      const failed = this.asFailure(error);
      if (!this.closed) this.onerror?.(new Error(failed.detail));
      throw failed;
    } finally {
      if (id !== undefined && !streamed) this.settled(id);
    }
  }

  /**
   * POSTs a message; resolves with the response's head. A request's exchange is known by its id (so
   * that its cancellation can end it); a notification's must be taken in time.
   */
  private async post(message: JSONRPCMessage, id: RequestId | undefined): Promise<IncomingMessage> {
    const carrying =
      id === undefined
        ? { timeoutMs: this.options.notificationTimeoutMs ?? NOTIFICATION_TIMEOUT_MS }
        : { id };
    const body = JSON.stringify(message);
    const response = await this.exchange('POST', body, 'application/json, text/event-stream', carrying);
    const session = response.headers['mcp-session-id'];
    if (typeof session === 'string') this.session = session;
    return response;
  }

  /** A JSON body: its messages are handed on, and the request fails at once if its answer is not among them. */
  private async readAnswerBody(response: IncomingMessage, id: RequestId): Promise<void> {
    const text = await this.text(response);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw this.failure('answered with a body that is not JSON', describeError(error));
    }
    if (!this.dispatch(data, id))
      throw this.failure(
        'answered without the answer to the request',
        `its JSON body: ${text.slice(0, 200)}`,
      );
  }

  /** A failed request: `message` for its caller, short; `detail` for the operator. */
  private failure(what: string, detail?: string): UpstreamRequestFailure {
    const message = `${this.upstream} ${what}`;
    return new UpstreamRequestFailure(message, detail === undefined ? message : `${message}: ${detail}`);
  }

  /** Anything a request failed with, as a failure: what is not one already is the connection's (an address, a reset). */
  private asFailure(error: unknown): UpstreamRequestFailure {
    if (error instanceof UpstreamRequestFailure) return error;
    const message = `${this.upstream} is unavailable`;
    return new UpstreamRequestFailure(message, `${message}: ${describeError(error)}`);
  }

  /** A response that is not a success: the status for the caller, what the upstream said for the log. */
  private async refusal(response: IncomingMessage, to = ''): Promise<UpstreamRequestFailure> {
    const said = await bodyStart(response);
    return this.failure(`answered HTTP ${response.statusCode}${to}`, said || response.statusMessage);
  }

  /** The request's answer is in (or will never come): whether the client had cancelled it. */
  private settled(id: RequestId): boolean {
    this.awaiting.delete(id);
    return this.cancelled.delete(id);
  }

  /**
   * One HTTP request; resolves with its response's head. `id`: the JSON-RPC request it carries;
   * `timeoutMs`: how long it may go without a byte from the upstream.
   */
  private exchange(
    method: 'GET' | 'POST',
    body: string | undefined,
    accept: string,
    carrying: { readonly id?: RequestId; readonly timeoutMs?: number } = {},
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
      const { id, timeoutMs } = carrying;
      if (id !== undefined) this.carriers.set(id, request);
      request.once('close', () => {
        this.open.delete(request);
        if (id !== undefined && this.carriers.get(id) === request) this.carriers.delete(id);
      });
      if (timeoutMs !== undefined)
        request.setTimeout(timeoutMs, () =>
          request.destroy(this.failure(`did not take a notification within ${timeoutMs} ms`)),
        );
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
          reject(this.failure(`sent an answer larger than ${limit} bytes`));
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
    let linger: NodeJS.Timeout | undefined;
    const why = await this.readEvents(
      response,
      (data) => {
        if (answered || !this.dispatch(data, id)) return;
        answered = true;
        // nothing more is due on it: an upstream that leaves it open must not hold the connection
        linger = setTimeout(() => response.destroy(), ANSWERED_STREAM_GRACE_MS);
        linger.unref();
      },
      () => answered || this.cancelled.has(id),
    );
    clearTimeout(linger);
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
   * arrives. Resolves with why it was cut short, if it was (an event past the size bound). A break
   * is reported unless `endedHere` (the transport ended the stream itself).
   */
  private readEvents(
    response: IncomingMessage,
    onData: (data: unknown) => void,
    endedHere: () => boolean = () => false,
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
        if (!this.closed && !endedHere())
          this.onerror?.(new Error(`SSE stream disconnected: ${error.message}`));
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
        if (!isOk(response)) throw await this.refusal(response, ' to the GET of its event stream');
        await this.readEvents(response, (data) => this.dispatch(data));
        this.reopenStandaloneStream(0);
      })
      .catch((error: unknown) => {
        if (this.closed) return;
        this.onerror?.(new Error(this.asFailure(error).detail));
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
 *
 * Each piece is read once, whatever the size of the event: a line that is not complete yet is kept in
 * the pieces it came in and joined once it ends (appending to one string and searching it from the
 * start again would make a large event cost the square of its size). An event is bounded by its UTF-8
 * bytes as they arrive, so one past the bound is refused at once, not once it is all in.
 */
export class EventStreamParser {
  /** The line being read, in the pieces it came in, and its size in bytes. */
  private partial: string[] = [];
  private partialBytes = 0;
  /** The last piece ended with `\r`: a `\n` that starts the next one belongs to that line break. */
  private afterReturn = false;
  private data: string[] = [];
  private event = '';
  /** Bytes of the event's data lines so far. */
  private size = 0;
  /** An event grew past the bound: nothing more is handed on. */
  private overflowed = false;

  constructor(
    private readonly maxEventBytes: number,
    private readonly onData: (data: string) => void,
  ) {}

  /** Takes the next piece of text; false when an event grows past the bound (stop reading then). */
  push(text: string): boolean {
    if (this.overflowed || text === '') return !this.overflowed;
    let start = this.afterReturn && text.startsWith('\n') ? 1 : 0;
    this.afterReturn = false;
    const breaks = new LineBreaks(text);
    for (let end = breaks.next(start); end !== -1; end = breaks.next(start)) {
      this.line(this.complete(text.slice(start, end)));
      if (this.overflowed) return false;
      start = end + 1;
      if (text[end] === '\r') {
        if (start === text.length) this.afterReturn = true;
        else if (text[start] === '\n') start++;
      }
    }
    if (start < text.length) {
      const rest = text.slice(start);
      this.partial.push(rest);
      this.partialBytes += Buffer.byteLength(rest);
      if (this.size + this.partialBytes > this.maxEventBytes) this.overflowed = true;
    }
    return !this.overflowed;
  }

  /** The whole line whose last part is `end`. */
  private complete(end: string): string {
    if (this.partial.length === 0) return end;
    this.partial.push(end);
    const line = this.partial.join('');
    this.partial = [];
    this.partialBytes = 0;
    return line;
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
      this.size += Buffer.byteLength(value) + 1;
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

/**
 * The line breaks of one piece of text (`\n`, `\r`), in order. Where the next of each kind is, is kept,
 * so that a piece of many short lines is searched once, not once per line for the kind it lacks.
 */
class LineBreaks {
  private newline: number;
  private ret: number;

  constructor(private readonly text: string) {
    this.newline = text.indexOf('\n');
    this.ret = text.indexOf('\r');
  }

  /** The first line break at or after `from`, or -1. */
  next(from: number): number {
    if (this.newline !== -1 && this.newline < from) this.newline = this.text.indexOf('\n', from);
    if (this.ret !== -1 && this.ret < from) this.ret = this.text.indexOf('\r', from);
    if (this.ret === -1) return this.newline;
    return this.newline === -1 ? this.ret : Math.min(this.newline, this.ret);
  }
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

/**
 * What a request failed with. Its message is all its caller is told (in the end an agent, as the
 * call's error): which upstream, and what failed. `detail` says why (an address, the upstream's own
 * text), for the operator only: the transport hands it to `onerror`.
 */
export class UpstreamRequestFailure extends Error {
  constructor(
    message: string,
    readonly detail: string,
  ) {
    super(message);
    this.name = 'UpstreamRequestFailure';
  }
}

/** The start of a body that is not an answer (an error page): for the log, never for the caller. */
async function bodyStart(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    // the rest is not reported: leaving the loop destroys the response (an endless page ends here)
    if (size >= 4_096) break;
  }
  // one line: a log line per failure, whatever the page looked like
  return Buffer.concat(chunks).toString('utf8').slice(0, 4_096).replace(/\s+/g, ' ').trim();
}
