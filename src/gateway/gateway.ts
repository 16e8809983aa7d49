/**
 * @module gateway/gateway
 * The MCP gateway's core: for one downstream client (an authenticated principal in a session) it
 * builds an MCP server, with the official SDK, that
 * - lists only the tools of its upstreams that the principal may ever call (namespaced
 *   `<upstream>__<tool>`),
 * - sends every `tools/call` through the enforcement pipeline (decide, record, run upstream, filter,
 *   record), and answers a refusal with an MCP error result that says why.
 * Resources and prompts are not offered: denied by default.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Harness } from '../harness/harness.js';
import type { PolicyHandle } from '../harness/types.js';
import { TOOL_NAME_SEPARATOR } from '../spec/gateway-config.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { Upstream } from './upstream.js';

export interface GatewayOptions {
  readonly upstreams: readonly Upstream[];
  readonly harness: Harness;
  readonly policy: PolicyHandle;
}

/** The downstream client: who it is, and the session its calls belong to. */
export interface DownstreamIdentity {
  readonly principal: Principal;
  readonly sessionId: string;
}

export class Gateway {
  private readonly upstreams: ReadonlyMap<string, Upstream>;

  constructor(private readonly options: GatewayOptions) {
    this.upstreams = new Map(options.upstreams.map((upstream) => [upstream.name, upstream]));
  }

  /** An MCP server for one downstream client; connect it to that client's transport. */
  createServer(identity: DownstreamIdentity): Server {
    const server = new Server({ name: 'reins-gateway', version: '0.1.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: this.visibleTools(identity.principal),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
      this.callTool(identity, request.params.name, request.params.arguments ?? {}, extra.signal),
    );
    return server;
  }

  /** Tools of every upstream that this principal may ever call, under their gateway names. */
  visibleTools(principal: Principal): Tool[] {
    const policy = this.options.policy.current;
    const tools: Tool[] = [];
    for (const upstream of this.upstreams.values()) {
      for (const tool of upstream.listTools()) {
        if (!policy.mayAllow(principal, { server: upstream.name, name: tool.name })) continue;
        tools.push({ ...tool, name: `${upstream.name}${TOOL_NAME_SEPARATOR}${tool.name}` });
      }
    }
    return tools;
  }

  private async callTool(
    identity: DownstreamIdentity,
    gatewayName: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<CallToolResult> {
    const tool = parseToolName(gatewayName);
    const upstream = tool && this.upstreams.get(tool.server);
    if (tool === undefined || upstream === undefined) return refusal(`unknown tool \`${gatewayName}\``);
    const result = await this.options.harness.call(
      { principal: identity.principal, sessionId: identity.sessionId, tool, args },
      (decidedArgs, { signal: callSignal }) => upstream.callTool(tool.name, decidedArgs, callSignal),
      { signal },
    );
    if (result.status === 'ok') return result.output as CallToolResult;
    if (result.status === 'denied') return refusal(`Reins refused this call: ${result.reason}`);
    return refusal(result.error);
  }
}

/** `<upstream>__<tool>` -> the policy's tool reference; the first separator splits (tool names may contain it). */
export function parseToolName(gatewayName: string): ToolRef | undefined {
  const index = gatewayName.indexOf(TOOL_NAME_SEPARATOR);
  if (index <= 0) return undefined;
  const name = gatewayName.slice(index + TOOL_NAME_SEPARATOR.length);
  return name.length > 0 ? { server: gatewayName.slice(0, index), name } : undefined;
}

function refusal(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}
