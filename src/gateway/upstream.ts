/**
 * @module gateway/upstream
 * One upstream MCP server the gateway fronts, through the official SDK client: spawned over stdio or
 * reached over Streamable HTTP (gateway/http-client-transport: Node's HTTP client, connections kept
 * alive and reused). Keeps its tool list; an upstream that dies is restarted with
 * exponential backoff, and calls made meanwhile fail with a clear error instead of hanging. A stdio
 * upstream's stderr is read, screened and logged within bounds (upstream-stderr.ts); its last lines
 * explain a start that fails or a death. What goes wrong with an HTTP upstream's requests reaches the
 * same log (`onEvent`, kind `error`) with its detail, while a call that fails tells the agent only what
 * failed (gateway/http-client-transport).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolResult,
  type GetPromptResult,
  type Progress,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { describeError } from '../spec/errors.js';
import { DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION, type UpstreamConfig } from '../spec/gateway-config.js';
import type { UpstreamHealth } from '../spec/ops.js';
import { HttpClientTransport, UpstreamRequestFailure } from './http-client-transport.js';
import { SessionShare, waitTimedOut } from './session-share.js';
import { freezeDefinition } from './tool-pinning.js';
import { traceMeta } from './trace-context.js';
import { upstreamEnvironment } from './upstream-env.js';
import { type StderrTail, UpstreamStderr } from './upstream-stderr.js';

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** A connection that lasted this long was healthy: its end restarts with the shortest backoff. */
const STABLE_MS = 10_000;

export interface UpstreamOptions {
  /** How long a request may take, its wait for a turn of its session's share included. */
  readonly callTimeoutMs: number;
  /**
   * Requests of one session in flight to this upstream at once (default
   * `DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION`); more wait their turn (gateway/session-share).
   */
  readonly callsPerSession?: number;
  /**
   * Told about connection events (started, died, restarting) and, for a stdio upstream, each line it
   * writes to stderr (`stderr`, within a budget) and the count of lines the budget left out
   * (`dropped`): for logs and the audit trail.
   */
  readonly onEvent?: (event: { upstream: string; kind: UpstreamEventKind; message: string }) => void;
  /** Directory stdio upstreams start in, unless their configuration says otherwise. */
  readonly cwd?: string;
  /**
   * Screens what the upstream wrote before it reaches an event or a connection error (both quote the
   * upstream: an initialize error, a notification its client rejects). The gateway commands pass the
   * policy's output redaction (harness/upstream-screen); without one the text is passed on as is.
   */
  readonly screen?: (text: string) => string;
}

export type UpstreamEventKind = 'connected' | 'closed' | 'error' | 'stderr' | 'dropped';

/** A request to the upstream, and whom it is made for. */
export interface UpstreamRequest {
  /** Ends the request: its caller cancelled, went away, or gave up. */
  readonly signal: AbortSignal;
  /**
   * The Reins session it is made for: at most `callsPerSession` requests of one session are in flight
   * to this upstream at once, and one more waits its turn. Undefined only for an operator's request (a
   * rollback's compensation and its reads), which no agent can set in motion.
   */
  readonly session: string | undefined;
}

/**
 * The listing, frozen: what was pinned cannot be changed in place afterwards, and the pin check can
 * fingerprint each definition once instead of on every call.
 */
function frozenTools(listing: { tools: Tool[] }): Tool[] {
  for (const tool of listing.tools) freezeDefinition(tool);
  return listing.tools;
}

/**
 * `run` (which must not throw) on each call, but never twice at once: calls while it runs are taken
 * together into one more run after it (it may have read the state before the last of them). An
 * upstream that sends a thousand notifications gets one or two requests, not a thousand.
 */
function coalesced(run: () => Promise<void>): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await run();
      } while (again);
    } finally {
      running = false;
    }
  };
}

/** Largest message read from an upstream (the SDK's default over stdio is 10 MiB). */
const UPSTREAM_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class Upstream {
  readonly name: string;
  private client: Client | undefined;
  private tools: Tool[] = [];
  private backoffMs = MIN_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  /** The client of a start under way (the first one or a restart), closed with the upstream. */
  private starting: Client | undefined;
  private closed = false;
  /** Stdio upstreams only: their stderr, one budget across restarts. */
  private readonly stderr: UpstreamStderr | undefined;
  /** For `health()`: connections after the first, when it last connected or went away, and why. */
  private connections = 0;
  private changedAt: string | undefined;
  private lastError: string | undefined;
  /** Each session's turns with this upstream. */
  private readonly share: SessionShare;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly options: UpstreamOptions,
  ) {
    this.name = config.name;
    this.share = new SessionShare(options.callsPerSession ?? DEFAULT_MAX_UPSTREAM_CALLS_PER_SESSION);
    if ('stdio' in config) {
      this.stderr = new UpstreamStderr({
        log: (kind, message) => this.tell(kind, message),
        screen: (text) => this.screen(text),
      });
    }
  }

  /**
   * Connects and lists the upstream's tools; rejects with a clear error if it cannot, with the last
   * lines the upstream wrote to stderr.
   */
  async connect(): Promise<void> {
    if (this.closed) throw new Error(`upstream \`${this.name}\` is closed`);
    const client = new Client({ name: 'reins-gateway', version: '0.1.0' });
    const transport = this.transport();
    const tail = this.followStderr(transport);
    client.onclose = () => this.handleClose(client, tail);
    client.onerror = (error) => this.emit('error', describeError(error));
    // a server may change its tools at any time (that is how a rug pull arrives): list them again,
    // once more for any number of notifications that arrive while a listing is under way
    const relist = coalesced(async () => {
      try {
        if (this.client === client) this.tools = frozenTools(await client.listTools());
      } catch (error) {
        this.emit('error', `listing changed tools: ${describeError(error)}`);
      }
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => relist());
    this.starting = client;
    try {
      await client.connect(transport);
      this.tools = frozenTools(await client.listTools());
      // closed while it started: keeping it would leave a process nobody ever stops
      if (this.closed) throw new Error('closed while it started');
    } catch (error) {
      await client.close().catch(() => {});
      const lastLines = tail && this.stderr ? await this.stderr.lastLines(tail) : '';
      // the operator's message: with what an HTTP upstream's failure keeps from the agents
      const why = error instanceof UpstreamRequestFailure ? error.detail : describeError(error);
      throw new Error(`upstream \`${this.name}\` did not start: ${this.screen(why)}${lastLines}`);
    } finally {
      if (this.starting === client) this.starting = undefined;
    }
    this.client = client;
    this.connectedAt = Date.now();
    this.connections++;
    this.changedAt = new Date(this.connectedAt).toISOString();
    this.emit('connected', `${this.tools.length} tools`);
  }

  /** Whether it is connected now, its restarts and its last error (readiness, metrics, the dashboard). */
  health(): UpstreamHealth {
    return {
      name: this.name,
      connected: this.client !== undefined,
      restarts: Math.max(0, this.connections - 1),
      ...(this.changedAt !== undefined ? { since: this.changedAt } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** The tools the upstream offers (as of its last successful listing). */
  listTools(): readonly Tool[] {
    return this.tools;
  }

  /**
   * Calls a tool. With `onProgress`, the upstream is asked for progress (the SDK sends a token of its
   * own) and each update it sends for this call is told, unscreened: the caller screens it. The call
   * timeout bounds the whole call: progress does not extend it (no `resetTimeoutOnProgress`), so an
   * upstream that keeps reporting progress cannot hold a call open past the operator's limit.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    request: UpstreamRequest,
    onProgress?: (progress: Progress) => void,
  ): Promise<CallToolResult> {
    // the trace context goes in the HTTP headers (HttpClientTransport); over stdio, in the request's `_meta`
    const meta = 'stdio' in this.config ? traceMeta() : undefined;
    const params = meta === undefined ? { name, arguments: args } : { name, arguments: args, _meta: meta };
    const progress = onProgress === undefined ? {} : { onprogress: onProgress };
    // the SDK validates the answer: garbage from the upstream becomes an error here, not a result
    return (await this.forward(request, (client, options) =>
      client.callTool(params, undefined, { ...options, ...progress }),
    )) as CallToolResult;
  }

  /**
   * Sends one request in its turn (`UpstreamRequest.session`): past the session's share it waits in the
   * session's queue, holding nothing of the upstream. The wait counts against the call timeout: the
   * request goes out with what is left of it, and one that waited all of it fails as a request that
   * timed out does. One whose caller cancels or goes away while it waits is never sent, and rejects
   * with `ToolNotStarted`: its call is recorded as not run.
   */
  private async forward<T>(
    request: UpstreamRequest,
    send: (client: Client, options: RequestOptions) => Promise<T>,
  ): Promise<T> {
    const { signal, session } = request;
    const timeout = this.options.callTimeoutMs;
    this.connected(); // an upstream that is down fails the request at once, not after a wait
    if (session === undefined) return send(this.connected(), { signal, timeout });
    const queuedAt = Date.now();
    const endTurn = await this.share.take(session, signal, timeout);
    try {
      const left = timeout - (Date.now() - queuedAt);
      if (left < 1) throw waitTimedOut(timeout);
      return await send(this.connected(), { signal, timeout: left });
    } finally {
      // a request cancelled once sent may still be running: MCP's cancellation asks, the upstream may
      // go on. Its turn ends at its deadline, as if it ran to its timeout: otherwise a session could
      // start and cancel calls in a loop and keep the upstream busy past its share
      const deadline = queuedAt + timeout - Date.now();
      if (signal.aborted && deadline > 0) setTimeout(endTurn, deadline).unref();
      else endTurn();
    }
  }

  /** What the upstream offers besides tools (from its initialize answer). */
  offers(): { resources: boolean; prompts: boolean } {
    const capabilities = this.client?.getServerCapabilities();
    return { resources: capabilities?.resources !== undefined, prompts: capabilities?.prompts !== undefined };
  }

  async listResources(request: UpstreamRequest): Promise<Resource[]> {
    if (!this.offers().resources) return [];
    return (await this.forward(request, (client, options) => client.listResources(undefined, options)))
      .resources;
  }

  async readResource(uri: string, request: UpstreamRequest): Promise<ReadResourceResult> {
    return this.forward(request, (client, options) => client.readResource({ uri }, options));
  }

  async listPrompts(request: UpstreamRequest): Promise<Prompt[]> {
    if (!this.offers().prompts) return [];
    return (await this.forward(request, (client, options) => client.listPrompts(undefined, options))).prompts;
  }

  async getPrompt(
    name: string,
    args: Record<string, string>,
    request: UpstreamRequest,
  ): Promise<GetPromptResult> {
    return this.forward(request, (client, options) => client.getPrompt({ name, arguments: args }, options));
  }

  private connected(): Client {
    if (this.client === undefined) throw new Error(`upstream \`${this.name}\` is unavailable (restarting)`);
    return this.client;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const clients = [this.client, this.starting];
    this.client = undefined;
    this.starting = undefined;
    await Promise.all(clients.map((client) => client?.close().catch(() => {})));
    this.stderr?.close();
  }

  private transport(): Transport {
    if ('stdio' in this.config) {
      const { command, args, cwd } = this.config.stdio;
      const directory = cwd ?? this.options.cwd;
      return new StdioClientTransport({
        command,
        args,
        // never the gateway's own environment: it holds the way into the store (upstream-env.ts)
        env: upstreamEnvironment(this.config.stdio),
        // Piped and always read (followStderr): a pipe nobody reads fills up and blocks the upstream.
        // Not 'inherit': it is unscreened upstream text (and `reins mcp`'s stderr is the client's log).
        stderr: 'pipe',
        // the SDK's default (10 MiB per message) closes the connection on a larger answer: a capture
        // of a few MiB in base64 (read_media_file) is one; past this the read still fails closed
        maxBufferSize: UPSTREAM_MAX_MESSAGE_BYTES,
        ...(directory ? { cwd: directory } : {}),
      });
    }
    const { url, headers, maxConnections } = this.config.http;
    return new HttpClientTransport(new URL(url), {
      name: this.name,
      headers,
      ...(maxConnections === undefined ? {} : { maxSockets: maxConnections }),
      // the trace context of the call under way, as `traceparent` (none when tracing is off)
      headersNow: traceMeta,
      maxMessageBytes: UPSTREAM_MAX_MESSAGE_BYTES,
    });
  }

  /** Reads the stderr of a stdio upstream's new process (its tail), from before it starts. */
  private followStderr(transport: Transport): StderrTail | undefined {
    const stream = transport instanceof StdioClientTransport ? transport.stderr : null;
    return stream && this.stderr ? this.stderr.follow(stream) : undefined;
  }

  /** Tells the listener, with the upstream's text screened (never raw, see `UpstreamOptions.screen`). */
  private emit(kind: UpstreamEventKind, message: string): void {
    const screened = this.screen(message);
    if (kind === 'error') this.lastError = screened;
    this.tell(kind, screened);
  }

  /** Tells the listener a message that is screened already. */
  private tell(kind: UpstreamEventKind, message: string): void {
    this.options.onEvent?.({ upstream: this.name, kind, message });
  }

  private screen(text: string): string {
    return this.options.screen === undefined ? text : this.options.screen(text);
  }

  /** The connection ended (the process died, or closed its pipes): restart, say why with its last lines. */
  private handleClose(client: Client, tail: StderrTail | undefined): void {
    if (this.client !== client) return; // a start that failed (its caller reports it), or replaced
    this.client = undefined;
    this.changedAt = new Date().toISOString();
    if (this.closed) return;
    this.lastError = 'the connection closed';
    // one that starts and dies at once keeps backing off: a crash loop must not flood the log
    if (Date.now() - this.connectedAt >= STABLE_MS) this.backoffMs = MIN_BACKOFF_MS;
    const delay = this.scheduleRestart();
    const lastLines = tail && this.stderr ? this.stderr.lastLines(tail) : Promise.resolve('');
    void lastLines.then((lines) => this.tell('closed', `restarting in ${delay} ms${lines}`));
  }

  /**
   * Tries again after the current backoff, doubling it after every failure or short-lived connection
   * (up to 30 s), until a start succeeds or the upstream is closed. Returns the delay.
   */
  private scheduleRestart(): number {
    const delay = this.backoffMs;
    this.restartTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        if (this.closed) return;
        this.emit('error', describeError(error));
        this.tell('closed', `restarting in ${this.scheduleRestart()} ms`);
      });
    }, delay);
    this.restartTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    return delay;
  }
}
