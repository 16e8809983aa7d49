/**
 * @module gateway/upstream
 * One upstream MCP server the gateway fronts, through the official SDK client: spawned over stdio or
 * reached over Streamable HTTP. Keeps its tool list; an upstream that dies is restarted with
 * exponential backoff, and calls made meanwhile fail with a clear error instead of hanging.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolResult,
  type GetPromptResult,
  type Prompt,
  type ReadResourceResult,
  type Resource,
  type Tool,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { describeError } from '../spec/errors.js';
import type { UpstreamConfig } from '../spec/gateway-config.js';
import { freezeDefinition } from './tool-pinning.js';
import { upstreamEnvironment } from './upstream-env.js';

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;

export interface UpstreamOptions {
  readonly callTimeoutMs: number;
  /** Told about connection events (started, died, restarting), for logs and the audit trail. */
  readonly onEvent?: (event: {
    upstream: string;
    kind: 'connected' | 'closed' | 'error';
    message: string;
  }) => void;
  /** Directory stdio upstreams start in, unless their configuration says otherwise. */
  readonly cwd?: string;
  /**
   * Screens what the upstream wrote before it reaches an event or a connection error (both quote the
   * upstream: an initialize error, a notification its client rejects). The gateway commands pass the
   * policy's output redaction (harness/upstream-screen); without one the text is passed on as is.
   */
  readonly screen?: (text: string) => string;
}

/**
 * The listing, frozen: what was pinned cannot be changed in place afterwards, and the pin check can
 * fingerprint each definition once instead of on every call.
 */
function frozenTools(listing: { tools: Tool[] }): Tool[] {
  for (const tool of listing.tools) freezeDefinition(tool);
  return listing.tools;
}

export class Upstream {
  readonly name: string;
  private client: Client | undefined;
  private tools: Tool[] = [];
  private backoffMs = MIN_BACKOFF_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly options: UpstreamOptions,
  ) {
    this.name = config.name;
  }

  /** Connects and lists the upstream's tools; rejects with a clear error if it cannot. */
  async connect(): Promise<void> {
    const client = new Client({ name: 'reins-gateway', version: '0.1.0' });
    client.onclose = () => this.handleClose(client);
    client.onerror = (error) => this.emit('error', describeError(error));
    // a server may change its tools at any time (that is how a rug pull arrives): list them again
    client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
      try {
        if (this.client === client) this.tools = frozenTools(await client.listTools());
      } catch (error) {
        this.emit('error', `listing changed tools: ${describeError(error)}`);
      }
    });
    try {
      await client.connect(this.transport());
      this.tools = frozenTools(await client.listTools());
    } catch (error) {
      await client.close().catch(() => {});
      throw new Error(`upstream \`${this.name}\` did not start: ${this.screen(describeError(error))}`);
    }
    this.client = client;
    this.backoffMs = MIN_BACKOFF_MS;
    this.emit('connected', `${this.tools.length} tools`);
  }

  /** The tools the upstream offers (as of its last successful listing). */
  listTools(): readonly Tool[] {
    return this.tools;
  }

  async callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    const client = this.client;
    if (client === undefined) throw new Error(`upstream \`${this.name}\` is unavailable (restarting)`);
    // the SDK validates the answer: garbage from the upstream becomes an error here, not a result
    return (await client.callTool({ name, arguments: args }, undefined, {
      signal,
      timeout: this.options.callTimeoutMs,
    })) as CallToolResult;
  }

  /** What the upstream offers besides tools (from its initialize answer). */
  offers(): { resources: boolean; prompts: boolean } {
    const capabilities = this.client?.getServerCapabilities();
    return { resources: capabilities?.resources !== undefined, prompts: capabilities?.prompts !== undefined };
  }

  async listResources(): Promise<Resource[]> {
    if (!this.offers().resources) return [];
    return (await this.connected().listResources()).resources;
  }

  async readResource(uri: string, signal: AbortSignal): Promise<ReadResourceResult> {
    return this.connected().readResource({ uri }, { signal, timeout: this.options.callTimeoutMs });
  }

  async listPrompts(): Promise<Prompt[]> {
    if (!this.offers().prompts) return [];
    return (await this.connected().listPrompts()).prompts;
  }

  async getPrompt(name: string, args: Record<string, string>, signal: AbortSignal): Promise<GetPromptResult> {
    return this.connected().getPrompt(
      { name, arguments: args },
      { signal, timeout: this.options.callTimeoutMs },
    );
  }

  private connected(): Client {
    if (this.client === undefined) throw new Error(`upstream \`${this.name}\` is unavailable (restarting)`);
    return this.client;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => {});
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
        // Not 'pipe': nothing reads it, and an upstream that writes more than a pipe holds would block
        // and stall every call. Not 'inherit': it is unscreened upstream text (and `reins mcp`'s stderr
        // is the client's log).
        stderr: 'ignore',
        ...(directory ? { cwd: directory } : {}),
      });
    }
    return new StreamableHTTPClientTransport(new URL(this.config.http.url), {
      requestInit: { headers: this.config.http.headers },
    });
  }

  /** Tells the listener, with the upstream's text screened (never raw, see `UpstreamOptions.screen`). */
  private emit(kind: 'connected' | 'closed' | 'error', message: string): void {
    this.options.onEvent?.({ upstream: this.name, kind, message: this.screen(message) });
  }

  private screen(text: string): string {
    return this.options.screen === undefined ? text : this.options.screen(text);
  }

  private handleClose(client: Client): void {
    if (this.client !== client) return; // an older connection, already replaced
    this.client = undefined;
    this.scheduleRestart();
  }

  /** Tries again after the current backoff, doubling it after every failure (up to 30 s). */
  private scheduleRestart(): void {
    if (this.closed) return;
    this.emit('closed', `restarting in ${this.backoffMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => {
        this.emit('error', describeError(error));
        this.scheduleRestart();
      });
    }, this.backoffMs);
    this.restartTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }
}
