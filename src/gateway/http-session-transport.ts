/**
 * @module gateway/http-session-transport
 * The server end of one MCP session over Streamable HTTP, for the gateway, in place of the SDK's
 * `StreamableHTTPServerTransport`. That one answers every request of a session the same way (an event
 * stream per request, or JSON only, so no progress for a held call) and converts each Node request to a
 * web `Request` and back; this one writes to Node's response directly and answers each POST the
 * cheapest way it allows:
 * - a plain JSON body when its requests are answered before anything else has to be sent for them (a
 *   call decided and run at once: the usual case);
 * - an event stream (SSE) from the moment something must go out before the answer: a progress
 *   notification (a call held for approval, a tool reporting progress), or a keep-alive comment for a
 *   request still unanswered after `KEEP_ALIVE_MS`; and for a batch whose answers waiting for the rest
 *   pass `MAX_HELD_ANSWER_BYTES` (they go out as they come instead of piling up in memory).
 * What a client has not read yet is bounded too, for JSON bodies as for event streams: a connection
 * with more than `MAX_UNREAD_BYTES` unread when something more must be written to it is cut off, as a
 * client that went away (it stopped reading; Node would otherwise buffer for it without limit). Every
 * byte goes out through one bounded write (`writeWithinBound` in gateway/http-io).
 * A client that goes away before its answer cancels its requests (decision 0018); a request id still
 * being answered in the session cannot be used again (409); a cancelled request's exchange ends without
 * an answer, as MCP says; closing the session answers what is still waiting with an error. GET opens the
 * session's one standalone event stream, DELETE ends the session. No resumable streams (no event ids):
 * nothing could pick an answer up again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  type JSONRPCMessage,
  JSONRPCMessageSchema,
  type MessageExtraInfo,
  type RequestId,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import { MAX_UNREAD_BYTES, responseOver, writeWithinBound } from './http-io.js';

/** A request unanswered this long gets its event stream and a comment this often (as the SDK's does). */
export const KEEP_ALIVE_MS = 15_000;

/** Most messages in one POST (the SDK's bound). */
const MAX_BATCH = 100;

/** A batch's answers held for one JSON body past this size are streamed instead. */
export const MAX_HELD_ANSWER_BYTES = 1024 * 1024;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/** One POST that carries requests: answered in one JSON body, or streamed once it has to be. */
interface Exchange {
  readonly response: ServerResponse;
  /** Its requests not answered yet. */
  readonly unanswered: Set<RequestId>;
  /** Answers held back for the JSON body, serialised (only while not streaming), and their length. */
  readonly answers: string[];
  heldBytes: number;
  /** The POST was a batch: its JSON answer is an array. */
  readonly batch: boolean;
  streaming: boolean;
  keepAlive: NodeJS.Timeout | undefined;
}

export interface HttpSessionTransportOptions {
  readonly sessionId: string;
  /** Called once, when the session's initialize request is accepted (before it is handled). */
  readonly onInitialized?: () => void;
  readonly keepAliveMs?: number;
  /** Default `MAX_HELD_ANSWER_BYTES`. */
  readonly maxHeldAnswerBytes?: number;
  /** Default `MAX_UNREAD_BYTES` (gateway/http-io). */
  readonly maxUnreadBytes?: number;
  /** Called when a connection of this session is cut off for what its client left unread (for the log). */
  readonly onCutOff?: (unreadBytes: number) => void;
}

export class HttpSessionTransport implements Transport {
  readonly sessionId: string;
  onmessage?: Transport['onmessage'];
  onclose?: Transport['onclose'];
  onerror?: Transport['onerror'];
  /** The exchange each request being answered belongs to. */
  private readonly exchanges = new Map<RequestId, Exchange>();
  private standalone: ServerResponse | undefined;
  private initialized = false;
  private closed = false;
  private readonly keepAliveMs: number;
  private readonly maxHeldAnswerBytes: number;
  private readonly maxUnreadBytes: number;

  constructor(private readonly options: HttpSessionTransportOptions) {
    this.sessionId = options.sessionId;
    this.keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
    this.maxHeldAnswerBytes = options.maxHeldAnswerBytes ?? MAX_HELD_ANSWER_BYTES;
    this.maxUnreadBytes = options.maxUnreadBytes ?? MAX_UNREAD_BYTES;
  }

  async start(): Promise<void> {}

  /**
   * Answers one HTTP request of this session; `body` is the parsed JSON of a POST. Resolves once the
   * response is over (answered, or its client gone).
   */
  async handle(
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    authInfo?: AuthInfo,
  ): Promise<void> {
    if (this.closed) return reply(response, 404, rpcError(-32001, 'Session not found'));
    switch (request.method) {
      case 'POST':
        return this.post(request, response, body, authInfo);
      case 'GET':
        return this.openStandaloneStream(request, response);
      case 'DELETE': {
        const refusal = this.versionRefusal(request);
        if (refusal !== undefined) return reply(response, 400, refusal);
        reply(response, 200, undefined);
        return this.close();
      }
      default:
        response.setHeader('allow', 'GET, POST, DELETE');
        return reply(response, 405, rpcError(-32000, 'Method not allowed.'));
    }
  }

  /** Sends a message: an answer to its request's exchange, anything else on the stream it belongs to. */
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('result' in message || 'error' in message) {
      const id = (message as { id: RequestId }).id;
      const exchange = this.exchanges.get(id);
      if (exchange === undefined) return; // cancelled, or its client is gone: nobody to answer
      this.exchanges.delete(id);
      exchange.unanswered.delete(id);
      this.answer(exchange, JSON.stringify(message));
      return;
    }
    const related = options?.relatedRequestId;
    if (related === undefined) {
      if (this.standalone !== undefined) this.writeEvent(this.standalone, JSON.stringify(message));
      return; // no standalone stream open: nobody listens for it
    }
    const exchange = this.exchanges.get(related);
    if (exchange === undefined) return; // its request is answered, cancelled or abandoned
    this.stream(exchange);
    this.writeEvent(exchange.response, JSON.stringify(message));
  }

  /** Ends the session: what still waits is answered with an error, streams end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const exchange of new Set(this.exchanges.values())) {
      for (const id of exchange.unanswered) {
        const answer: JSONRPCMessage = {
          jsonrpc: '2.0',
          id,
          error: {
            code: ErrorCode.ConnectionClosed,
            message: 'the MCP session was closed before this request was answered',
          },
        };
        exchange.unanswered.delete(id);
        this.answer(exchange, JSON.stringify(answer));
      }
    }
    this.exchanges.clear();
    this.standalone?.end();
    this.standalone = undefined;
    this.onclose?.();
  }

  private async post(
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    authInfo: AuthInfo | undefined,
  ): Promise<void> {
    const accept = request.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return reply(
        response,
        406,
        rpcError(-32000, 'Not Acceptable: Client must accept both application/json and text/event-stream'),
      );
    }
    const batch = Array.isArray(body);
    const raw: unknown[] = batch ? body : [body];
    if (raw.length === 0 || raw.length > MAX_BATCH) {
      return reply(
        response,
        400,
        rpcError(-32600, `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`),
      );
    }
    const messages: JSONRPCMessage[] = [];
    for (const item of raw) {
      const parsed = JSONRPCMessageSchema.safeParse(item);
      if (!parsed.success)
        // well-formed JSON (the body was parsed): not a parse error, a request that is not valid
        return reply(response, 400, rpcError(-32600, 'Invalid Request: not a JSON-RPC message'));
      messages.push(parsed.data);
    }
    const refusal = this.initializeOrVersionRefusal(request, messages);
    if (refusal !== undefined) return reply(response, 400, refusal);

    const extra: MessageExtraInfo = {
      requestInfo: { headers: request.headers },
      ...(authInfo === undefined ? {} : { authInfo }),
    };
    const ids = messages.filter(isRequest).map((message) => message.id);
    if (ids.length === 0) {
      for (const message of messages) this.deliver(message, extra);
      return reply(response, 202, undefined);
    }
    const reused = ids.find((id, index) => this.exchanges.has(id) || ids.indexOf(id) !== index);
    if (reused !== undefined) {
      // the SDK knows a request by its id: a second one would take the first one's place, and a
      // cancellation (or a disconnect) would end the wrong call
      return reply(
        response,
        409,
        rpcError(
          -32600,
          `request id \`${reused}\` is already in use by a request still being answered in this MCP session: use a new id`,
        ),
      );
    }
    // gone already (while it was authenticated, say): nothing would ever answer it, nor end its wait
    if (!writable(response)) return;
    const exchange: Exchange = {
      response,
      unanswered: new Set(ids),
      answers: [],
      heldBytes: 0,
      batch,
      streaming: false,
      keepAlive: undefined,
    };
    for (const id of ids) this.exchanges.set(id, exchange);
    const over = responseOver(response).then(() => this.abandon(exchange));
    exchange.keepAlive = setInterval(() => {
      this.stream(exchange);
      this.write(response, ': keepalive\n\n');
    }, this.keepAliveMs);
    exchange.keepAlive.unref();
    for (const message of messages) this.deliver(message, extra);
    return over;
  }

  /**
   * The initialize request opens the session once and alone; every other message needs an initialized
   * session and, when it names one, a protocol version the SDK supports.
   */
  private initializeOrVersionRefusal(request: IncomingMessage, messages: readonly JSONRPCMessage[]) {
    if (!messages.some(isInitialize)) {
      if (!this.initialized) return rpcError(-32000, 'Bad Request: Server not initialized');
      return this.versionRefusal(request);
    }
    if (this.initialized) return rpcError(-32600, 'Invalid Request: Server already initialized');
    if (messages.length > 1)
      return rpcError(-32600, 'Invalid Request: Only one initialization request is allowed');
    this.initialized = true;
    this.options.onInitialized?.();
    return undefined;
  }

  private versionRefusal(request: IncomingMessage) {
    const version = request.headers['mcp-protocol-version'];
    if (
      version === undefined ||
      (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version))
    )
      return undefined;
    return rpcError(
      -32000,
      `Bad Request: Unsupported protocol version (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
    );
  }

  /** Hands a message to the server; a cancellation also ends its request's wait for an answer. */
  private deliver(message: JSONRPCMessage, extra: MessageExtraInfo): void {
    this.onmessage?.(message, extra);
    if (!('method' in message) || message.method !== 'notifications/cancelled' || 'id' in message) return;
    const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
    const exchange = requestId === undefined ? undefined : this.exchanges.get(requestId);
    if (exchange === undefined) return;
    // a cancelled request is not answered (the SDK's server sends nothing for it)
    this.exchanges.delete(requestId as RequestId);
    exchange.unanswered.delete(requestId as RequestId);
    if (exchange.unanswered.size === 0) this.finish(exchange);
  }

  /**
   * One answer of the exchange (serialised): written if it streams, else held for the JSON body; a
   * batch whose held answers grow past the bound switches to a stream, so they leave memory now.
   */
  private answer(exchange: Exchange, text: string): void {
    if (exchange.streaming) this.writeEvent(exchange.response, text);
    else {
      exchange.answers.push(text);
      exchange.heldBytes += text.length;
    }
    if (exchange.unanswered.size === 0) this.finish(exchange);
    else if (exchange.heldBytes > this.maxHeldAnswerBytes) this.stream(exchange);
  }

  /** Switches an exchange to an event stream (once), with the answers it holds so far. */
  private stream(exchange: Exchange): void {
    if (exchange.streaming) return;
    exchange.streaming = true;
    const held = exchange.answers.splice(0);
    exchange.heldBytes = 0;
    if (!writable(exchange.response)) return;
    exchange.response.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId });
    for (const answer of held) this.writeEvent(exchange.response, answer);
  }

  private writeEvent(response: ServerResponse, message: string): void {
    this.write(response, `event: message\ndata: ${message}\n\n`);
  }

  /**
   * Writes to a response (its last part with `end`: a JSON body), unless its client has stopped
   * reading: its connection holds more than the bound unread from earlier writes. That connection is
   * destroyed, which is what a client that goes away does: its requests are cancelled (`abandon`), the
   * standalone stream is free again.
   */
  private write(response: ServerResponse, chunk: string, end = false): void {
    if (!writable(response)) return;
    const written = writeWithinBound(response, chunk, { end, maxUnreadBytes: this.maxUnreadBytes });
    if (written.kind === 'cut_off') this.options.onCutOff?.(written.unreadBytes);
  }

  /** Every request of the exchange is answered (or cancelled): its response is complete. */
  private finish(exchange: Exchange): void {
    clearInterval(exchange.keepAlive);
    const { response, answers } = exchange;
    if (!writable(response)) return;
    if (exchange.streaming) {
      response.end();
      return;
    }
    if (answers.length === 0) {
      // all cancelled: an event stream that ends without an answer
      response.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId });
      response.end();
      return;
    }
    const text = exchange.batch ? `[${answers.join(',')}]` : (answers[0] as string);
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'mcp-session-id': this.sessionId,
    });
    this.write(response, text, true);
  }

  /**
   * The response is over. If requests of it are still unanswered, its client went away before their
   * answers (killed, network gone, stream cancelled): they are cancelled as if it had said so, so that
   * a call held for approval ends as abandoned instead of running later with nobody listening.
   */
  private abandon(exchange: Exchange): void {
    clearInterval(exchange.keepAlive);
    for (const requestId of exchange.unanswered) {
      this.exchanges.delete(requestId);
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId, reason: 'the client disconnected before the response' },
      });
    }
    exchange.unanswered.clear();
  }

  /** GET: the session's one standalone event stream, for messages that belong to no request. */
  private openStandaloneStream(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!(request.headers.accept ?? '').includes('text/event-stream'))
      return reply(response, 406, rpcError(-32000, 'Not Acceptable: Client must accept text/event-stream'));
    const refusal = this.versionRefusal(request);
    if (refusal !== undefined) return reply(response, 400, refusal);
    if (this.standalone !== undefined)
      return reply(response, 409, rpcError(-32000, 'Conflict: Only one SSE stream is allowed per session'));
    if (!writable(response)) return Promise.resolve();
    this.standalone = response;
    response.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId });
    response.flushHeaders();
    const keepAlive = setInterval(() => this.write(response, ': keepalive\n\n'), this.keepAliveMs);
    keepAlive.unref();
    return responseOver(response).then(() => {
      clearInterval(keepAlive);
      if (this.standalone === response) this.standalone = undefined;
    });
  }
}

function isRequest(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId; method: string } {
  return 'method' in message && 'id' in message;
}

function isInitialize(message: JSONRPCMessage): boolean {
  return isRequest(message) && message.method === 'initialize';
}

/** Not ended, and its client still there (a response queued behind another hears nothing of its connection). */
function writable(response: ServerResponse): boolean {
  return !response.writableEnded && !response.destroyed && !response.req.socket.destroyed;
}

function rpcError(code: number, message: string) {
  return { jsonrpc: '2.0', id: null, error: { code, message } };
}

/** A complete answer: a JSON body, or none (`undefined`). */
async function reply(response: ServerResponse, status: number, body: unknown): Promise<void> {
  if (body === undefined) {
    response.writeHead(status);
    response.end();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}
