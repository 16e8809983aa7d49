/**
 * @module gateway/gateway
 * The MCP gateway's core: for one downstream client (an authenticated principal in a session) it
 * builds an MCP server, with the official SDK, that
 * - lists only the tools of its upstreams that the principal may ever call (namespaced
 *   `<upstream>__<tool>`),
 * - sends every `tools/call` through the enforcement pipeline (decide, record, run upstream, filter,
 *   record), and answers a refusal with an MCP error result that says why.
 * - takes the user's request a client declares in a request's `_meta` (gateway/declared-request) to
 *   the harness with the call: for the call (`trustedInput`) or for the session (`sessionRequest`).
 * Resources and prompts go through the same pipeline (as `resource:<uri>` and `prompt:<name>`): denied
 * unless the policy's catalogue and rules allow them.
 */

import { randomUUID } from 'node:crypto';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  type GetPromptResult,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type Progress,
  type Prompt,
  ReadResourceRequestSchema,
  type ReadResourceResult,
  type Resource,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import type { Context } from '@opentelemetry/api';
import type { UpstreamReader } from '../harness/capture.js';
import type { Harness } from '../harness/harness.js';
import type { CallOptions, CallResult, CompensationRequest, PolicyHandle } from '../harness/types.js';
import { screenTextWithPolicy, screenWithPolicy } from '../harness/upstream-screen.js';
import type { MemoryGuard } from '../memory/memory-guard.js';
import type { ToolPinningEvent } from '../spec/audit-event.js';
import { describeError } from '../spec/errors.js';
import { TOOL_NAME_SEPARATOR } from '../spec/gateway-config.js';
import type { CallCredential } from '../spec/standing.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { declaredRequestsOf } from './declared-request.js';

/** The user's request a client declared with a call, as the harness takes it. */
interface DeclaredWithCall {
  readonly trustedInput?: string;
  readonly sessionRequest?: string;
}

import { ProgressRelay } from './progress-relay.js';
import { anyRequestOf, parseRequest, setToolCallHandler } from './request-params.js';
import { asOneCall, shareKey } from './session-share.js';
import { type PinCheck, type ToolPins, toolFingerprint } from './tool-pinning.js';
import { callerTraceContext } from './trace-context.js';
import type { Upstream, UpstreamRequest } from './upstream.js';

export interface GatewayOptions {
  readonly upstreams: readonly Upstream[];
  readonly harness: Harness;
  readonly policy: PolicyHandle;
  /** Tool definition pins (reins.lock): changed or suspicious tools are quarantined. */
  readonly pins?: ToolPins;
  /** Where pinning events are recorded (the same log as the calls). */
  readonly audit?: AuditLog;
  /**
   * The memory guard for upstreams the policy's `memory:` section names (opened on first use). Without
   * one, calls to those upstreams fail: memory is never served unguarded.
   */
  readonly memoryGuard?: () => MemoryGuard;
}

/** The downstream client: who it is, and the session its calls belong to. */
export interface DownstreamIdentity {
  readonly principal: Principal;
  readonly sessionId: string;
  /** The credential its calls ride on (checked for revocation while a call waits for approval). */
  readonly credential?: CallCredential;
}

/**
 * Who is behind one MCP request. A transport that authenticates every request (Streamable HTTP) hands
 * the request's own identity in `authInfo` (the SDK passes `req.auth` to handlers as
 * `extra.authInfo`), so each request acts with its own credential, not the one that opened the
 * session. Throws when the request carries none (refused).
 */
export type IdentityResolver = (authInfo: AuthInfo | undefined) => DownstreamIdentity;

/**
 * What every per-client server checks JSON Schemas with. The SDK uses it only for a client's answer to
 * an elicitation, which the gateway never asks for, so any use is refused. Without it each server
 * builds its own Ajv instance with all formats: about 0.7 ms and 20 KB for every MCP session opened.
 */
const NO_ELICITATION: jsonSchemaValidator = {
  getValidator: () => () => ({
    valid: false,
    data: undefined,
    errorMessage: 'the gateway asks clients for nothing (no elicitation)',
  }),
};

export class Gateway {
  private readonly upstreams: ReadonlyMap<string, Upstream>;
  private readonly recordedPins = new Set<string>();
  private memory: MemoryGuard | undefined;

  constructor(private readonly options: GatewayOptions) {
    this.upstreams = new Map(options.upstreams.map((upstream) => [upstream.name, upstream]));
  }

  /**
   * An MCP server for one downstream client; connect it to that client's transport. `source` is the
   * client's fixed identity (stdio: one process, one agent) or resolves each request's own.
   */
  createServer(source: DownstreamIdentity | IdentityResolver): Server {
    const identityOf = (extra: { authInfo?: AuthInfo }): DownstreamIdentity =>
      typeof source === 'function' ? source(extra.authInfo) : source;
    const server = new Server(
      { name: 'reins-gateway', version: '0.1.0' },
      { capabilities: { tools: {}, resources: {}, prompts: {} }, jsonSchemaValidator: NO_ELICITATION },
    );
    server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => ({
      tools: this.visibleTools(identityOf(extra).principal),
    }));
    // Resources and prompts go through the pipeline as `resource:<uri>` and `prompt:<name>` of their
    // upstream: without a catalogue entry and a rule they are unknown, hence hidden and denied.
    server.setRequestHandler(ListResourcesRequestSchema, async (_request, extra) => ({
      resources: await this.visibleResources(identityOf(extra), extra.signal),
    }));
    server.setRequestHandler(anyRequestOf('resources/read'), async (raw, extra) => {
      const request = parseRequest(ReadResourceRequestSchema, raw, 'resources/read');
      const identity = identityOf(extra);
      const declared = this.declaredRequest(request.params._meta);
      const uri = request.params.uri;
      const owner = await this.resourceOwner(uri, sessionRequest(identity, extra.signal));
      if (owner === undefined) throw new McpError(ErrorCode.InvalidParams, `unknown resource \`${uri}\``);
      if (this.options.policy.current.isMemoryServer(owner.name))
        throw new McpError(
          ErrorCode.InvalidRequest,
          'Reins refused this read: memory is read through its tools only',
        );
      const result = await this.options.harness.call(
        {
          ...callerOf(identity),
          tool: { server: owner.name, name: `resource:${uri}` },
          args: { uri },
          ...declared,
        },
        (_args, { signal }) => owner.readResource(uri, sessionRequest(identity, signal)),
        withTrace(
          { signal: extra.signal },
          callerTraceContext(extra.requestInfo?.headers, request.params._meta),
        ),
      );
      if (result.status === 'ok') return result.output as ReadResourceResult;
      const message = result.status === 'denied' ? `Reins refused this read: ${result.reason}` : result.error;
      throw new McpError(ErrorCode.InvalidRequest, message);
    });
    server.setRequestHandler(ListPromptsRequestSchema, async (_request, extra) => ({
      prompts: await this.visiblePrompts(identityOf(extra), extra.signal),
    }));
    server.setRequestHandler(anyRequestOf('prompts/get'), async (raw, extra) => {
      const request = parseRequest(GetPromptRequestSchema, raw, 'prompts/get');
      const identity = identityOf(extra);
      const declared = this.declaredRequest(request.params._meta);
      const ref = parseToolName(request.params.name);
      const upstream = ref && this.upstreams.get(ref.server);
      if (ref === undefined || upstream === undefined) {
        throw new McpError(ErrorCode.InvalidParams, `unknown prompt \`${request.params.name}\``);
      }
      const args = request.params.arguments ?? {};
      const result = await this.options.harness.call(
        {
          ...callerOf(identity),
          tool: { server: upstream.name, name: `prompt:${ref.name}` },
          args,
          ...declared,
        },
        (_args, { signal }) => upstream.getPrompt(ref.name, args, sessionRequest(identity, signal)),
        withTrace(
          { signal: extra.signal },
          callerTraceContext(extra.requestInfo?.headers, request.params._meta),
        ),
      );
      if (result.status === 'ok') return result.output as GetPromptResult;
      const message =
        result.status === 'denied' ? `Reins refused this prompt: ${result.reason}` : result.error;
      throw new McpError(ErrorCode.InvalidRequest, message);
    });

    setToolCallHandler(server, async (request, extra) => {
      const identity = identityOf(extra);
      // before anything runs: a malformed declaration refuses the call
      const declared = this.declaredRequest(request.params._meta);
      const progressToken = request.params._meta?.progressToken;
      // if the client asked for progress: that a held call is still waiting, then the upstream's own
      const relay =
        progressToken === undefined
          ? undefined
          : new ProgressRelay(
              (update) =>
                void extra
                  .sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken, ...update },
                  })
                  .catch(() => {}),
            );
      return this.callTool({
        identity,
        gatewayName: request.params.name,
        args: request.params.arguments ?? {},
        declared,
        signal: extra.signal,
        relay,
        // the client's trace: the HTTP request's `traceparent` header, else `params._meta.traceparent`
        traceContext: callerTraceContext(extra.requestInfo?.headers, request.params._meta),
      });
    });
    return server;
  }

  /** Tools of every upstream that this principal may ever call and that are not quarantined. */
  visibleTools(principal: Principal): Tool[] {
    const policy = this.options.policy.current;
    const tools: Tool[] = [];
    for (const upstream of this.upstreams.values()) {
      for (const tool of upstream.listTools()) {
        if (!policy.mayAllow(principal, { server: upstream.name, name: tool.name })) continue;
        if (this.pinCheck(upstream.name, tool).status !== 'pinned') continue;
        const listed = this.screenListed({ server: upstream.name, name: tool.name }, tool, 'name');
        if (listed) tools.push({ ...listed, name: `${upstream.name}${TOOL_NAME_SEPARATOR}${tool.name}` });
      }
    }
    return tools;
  }

  private async visibleResources(identity: DownstreamIdentity, signal: AbortSignal): Promise<Resource[]> {
    const policy = this.options.policy.current;
    const visible: Resource[] = [];
    const request = sessionRequest(identity, signal);
    for (const upstream of this.upstreams.values()) {
      for (const resource of await upstream.listResources(request).catch(() => [])) {
        const ref = { server: upstream.name, name: `resource:${resource.uri}` };
        if (!policy.mayAllow(identity.principal, ref)) continue;
        const listed = this.screenListed(ref, resource, 'uri');
        if (listed) visible.push(listed);
      }
    }
    return visible;
  }

  /** The upstream that lists this resource (resource URIs are not namespaced: the first one wins). */
  private async resourceOwner(uri: string, request: UpstreamRequest): Promise<Upstream | undefined> {
    for (const upstream of this.upstreams.values()) {
      const resources = await upstream.listResources(request).catch(() => []);
      if (resources.some((resource) => resource.uri === uri)) return upstream;
    }
    return undefined;
  }

  private async visiblePrompts(identity: DownstreamIdentity, signal: AbortSignal): Promise<Prompt[]> {
    const policy = this.options.policy.current;
    const visible: Prompt[] = [];
    const request = sessionRequest(identity, signal);
    for (const upstream of this.upstreams.values()) {
      for (const prompt of await upstream.listPrompts(request).catch(() => [])) {
        const ref = { server: upstream.name, name: `prompt:${prompt.name}` };
        if (!policy.mayAllow(identity.principal, ref)) continue;
        const listed = this.screenListed(ref, prompt, 'name');
        if (listed) visible.push({ ...listed, name: `${upstream.name}${TOOL_NAME_SEPARATOR}${prompt.name}` });
      }
    }
    return visible;
  }

  /**
   * A definition as agents may see it: screened like what the tool, resource or prompt returns, since
   * its description reaches the model just the same. Withheld when the policy blocks what it holds, or
   * when its name or URI is what holds it (it could not be used by a redacted name).
   */
  private screenListed<T extends { readonly name: string; readonly uri?: string }>(
    ref: ToolRef,
    item: T,
    key: 'name' | 'uri',
  ): T | undefined {
    const screened = screenWithPolicy(this.options.policy.current, ref, item, 'the definition');
    if (!screened.ok || screened.value[key] !== item[key]) return undefined;
    return screened.value;
  }

  /** Checks a tool definition against its pin, recording first pins and quarantines (once each). */
  private pinCheck(
    upstream: string,
    tool: Tool,
  ): { status: 'pinned' } | { status: 'quarantined'; message: string } {
    const { pins } = this.options;
    if (pins === undefined) return { status: 'pinned' };
    let check: PinCheck;
    try {
      const ref = { server: upstream, name: tool.name };
      const policy = this.options.policy.current;
      check = pins.check(upstream, tool, (text) => screenTextWithPolicy(policy, ref, text));
    } catch (error) {
      // fail closed: a lock file we cannot read or write withholds the tool
      return {
        status: 'quarantined',
        message: `tool \`${upstream}/${tool.name}\` is withheld: ${describeError(error)}`,
      };
    }
    if (check.status === 'pinned') {
      if (check.firstUse)
        this.recordPin(upstream, tool.name, {
          status: 'pinned',
          fingerprint: check.fingerprint,
          message: 'pinned on first use',
        });
      return { status: 'pinned' };
    }
    this.recordPin(upstream, tool.name, {
      status: 'quarantined',
      reason: check.reason,
      fingerprint: check.fingerprint,
      ...(check.pinned ? { pinned: check.pinned } : {}),
      findings: check.findings.map((finding) => ({ code: finding.code, field: finding.field })),
      message: check.message,
    });
    return { status: 'quarantined', message: check.message };
  }

  private recordPin(
    upstream: string,
    name: string,
    event: Pick<ToolPinningEvent, 'status' | 'fingerprint' | 'message'> &
      Partial<Pick<ToolPinningEvent, 'reason' | 'pinned' | 'findings' | 'agentId' | 'sessionId'>>,
  ): void {
    const { audit } = this.options;
    if (audit === undefined) return;
    // one record per definition and status, however often tools are listed; every refused call is recorded
    const key = `${upstream}/${name}|${event.fingerprint}|${event.status}`;
    if (event.status !== 'refused') {
      if (this.recordedPins.has(key)) return;
      this.recordedPins.add(key);
    }
    const id = randomUUID();
    void audit
      .append({
        v: 1,
        id,
        time: new Date().toISOString(),
        kind: 'tool-pinning',
        decisionId: id,
        tool: { server: upstream, name },
        findings: [],
        agentId: '',
        sessionId: '',
        ...event,
      })
      .catch(() => this.recordedPins.delete(key)); // try again next time
  }

  /**
   * A memory server's tool, through the memory guard (tenant names, labels, scoped reads); each request
   * the guard makes of the upstream is one of `request`'s session.
   */
  private guardedMemoryCall(
    principal: Principal,
    upstream: Upstream,
    name: string,
    args: Record<string, unknown>,
    request: UpstreamRequest,
  ): Promise<unknown> {
    const settings = this.options.policy.current.memory;
    if (this.options.memoryGuard === undefined || settings === undefined)
      return Promise.reject(new Error('memory guard unavailable: memory calls are refused'));
    this.memory ??= this.options.memoryGuard();
    // several requests for one call: only the first can say the call did not start
    return this.memory.call(
      principal,
      settings,
      name,
      args,
      asOneCall((tool, toolArgs) => upstream.callTool(tool, toolArgs, request)),
    );
  }

  /**
   * Passes the upstream's progress for a call on to the client (if it asked for progress), its message
   * screened like the result: redacted, or dropped when the policy blocks what it holds or it cannot be
   * screened (fail closed). Not for memory servers: their calls go through the guard, which may make
   * several upstream calls for one, and nothing of theirs reaches the client unguarded.
   */
  private upstreamProgress(
    tool: ToolRef,
    relay: ProgressRelay | undefined,
  ): ((progress: Progress) => void) | undefined {
    if (relay === undefined) return undefined;
    const screen = (message: string): string | undefined => {
      try {
        const screened = screenWithPolicy(this.options.policy.current, tool, message, 'the progress message');
        return screened.ok && typeof screened.value === 'string' ? screened.value : undefined;
      } catch {
        return undefined;
      }
    };
    return (progress) => relay.upstream(progress, screen);
  }

  /**
   * Reads tools of `server` as `identity` reaches them (through the memory guard for a memory server),
   * for a rollback's check of what is undone: an operator's reads, in no session's share. Undefined
   * when there is no such upstream.
   */
  upstreamReader(identity: DownstreamIdentity, server: string): UpstreamReader | undefined {
    const upstream = this.upstreams.get(server);
    return upstream === undefined ? undefined : this.readerOf(identity.principal, upstream, undefined);
  }

  /**
   * Runs a rollback's compensation step on its tool's upstream, through the harness's full pipeline
   * (`Harness.compensate`): the tool must still be listed and its definition pinned. An operator's
   * call, in no session's share: the agent whose calls it undoes cannot keep it waiting.
   */
  async compensate(request: CompensationRequest, signal?: AbortSignal): Promise<CallResult | string> {
    const upstream = this.upstreams.get(request.tool.server);
    const definition = upstream?.listTools().find((candidate) => candidate.name === request.tool.name);
    if (upstream === undefined || definition === undefined)
      return `tool \`${request.tool.server}/${request.tool.name}\` is not available from this gateway`;
    const pin = this.pinCheck(upstream.name, definition);
    if (pin.status === 'quarantined') return pin.message;
    const { principal } = request;
    const guarded = this.options.policy.current.isMemoryServer(upstream.name);
    return this.options.harness.compensate(
      request,
      guarded
        ? (decidedArgs, { signal: callSignal }) =>
            this.guardedMemoryCall(principal, upstream, request.tool.name, decidedArgs, {
              signal: callSignal,
              session: undefined,
            })
        : (decidedArgs, { signal: callSignal }) =>
            upstream.callTool(request.tool.name, decidedArgs, { signal: callSignal, session: undefined }),
      // a signal of its own per step: the SDK adds a listener to it for every request it sends
      { signal: signal ?? new AbortController().signal, errorOfResult: errorOfToolResult },
    );
  }

  /** The failure an upstream's result reports (MCP `isError`), as the harness reads it. */
  errorOfResult(result: unknown): string | undefined {
    return errorOfToolResult(result);
  }

  /** Reads of `upstream` as `principal` reaches it, each in `session`'s share (none: an operator's). */
  private readerOf(principal: Principal, upstream: Upstream, session: string | undefined): UpstreamReader {
    if (this.options.policy.current.isMemoryServer(upstream.name))
      return (name, toolArgs, signal) =>
        this.guardedMemoryCall(principal, upstream, name, toolArgs, { signal, session });
    return (name, toolArgs, signal) => upstream.callTool(name, toolArgs, { signal, session });
  }

  /**
   * The user's request the client declared with a request (`_meta`, gateway/declared-request), for the
   * call (`trustedInput`) or for the session (`sessionRequest`): both go to the harness with the call,
   * which records them only once the call is past the session's owner and standing checks. A
   * malformed one throws -32602: the request is refused before anything runs.
   */
  private declaredRequest(meta: Readonly<Record<string, unknown>> | undefined): DeclaredWithCall {
    const declared = declaredRequestsOf(meta);
    return {
      ...(declared.call !== undefined ? { trustedInput: declared.call } : {}),
      ...(declared.session !== undefined ? { sessionRequest: declared.session } : {}),
    };
  }

  private async callTool(call: ToolCallFromClient): Promise<CallToolResult> {
    const { identity, gatewayName, args, declared, signal, relay, traceContext } = call;
    const tool = parseToolName(gatewayName);
    const upstream = tool && this.upstreams.get(tool.server);
    const definition = upstream?.listTools().find((candidate) => candidate.name === tool?.name);
    if (tool === undefined || upstream === undefined || definition === undefined) {
      // never reaches the pipeline, but probing for tools is an attempt: recorded with who tried
      // (names as sent, cut short: the caller chose them)
      const attempted = tool ?? { server: '(none)', name: gatewayName };
      this.recordPin(attempted.server.slice(0, 128), attempted.name.slice(0, 256) || '(none)', {
        status: 'refused',
        reason: 'unknown_tool',
        fingerprint: '',
        message: 'no such tool',
        agentId: identity.principal.agentId,
        sessionId: identity.sessionId,
      });
      return refusal(`unknown tool \`${gatewayName}\``);
    }
    const pin = this.pinCheck(upstream.name, definition);
    if (pin.status === 'quarantined') {
      const { principal, sessionId } = identity;
      const fingerprint = this.options.pins ? toolFingerprint(upstream.name, definition) : '';
      this.recordPin(upstream.name, tool.name, {
        status: 'refused',
        fingerprint,
        message: pin.message,
        agentId: principal.agentId,
        sessionId,
      });
      return refusal(`Reins refused this call: ${pin.message}`);
    }
    const guarded = this.options.policy.current.isMemoryServer(upstream.name);
    const { principal, sessionId } = identity;
    // captures read the same upstream the way the call reaches it (through the memory guard, if any),
    // and like the call itself, in the session's share of it
    const readUpstream = this.readerOf(principal, upstream, sessionId);
    const result = await this.options.harness.call(
      { ...callerOf(identity), tool, args, ...declared },
      guarded
        ? (decidedArgs, { signal: callSignal }) =>
            this.guardedMemoryCall(
              principal,
              upstream,
              tool.name,
              decidedArgs,
              sessionRequest(identity, callSignal),
            )
        : (decidedArgs, { signal: callSignal }) =>
            upstream.callTool(
              tool.name,
              decidedArgs,
              sessionRequest(identity, callSignal),
              this.upstreamProgress(tool, relay),
            ),
      withTrace(
        relay === undefined
          ? { signal, errorOfResult: errorOfToolResult, readUpstream }
          : {
              signal,
              onWaiting: (elapsed, message) => relay.waiting(elapsed, message),
              errorOfResult: errorOfToolResult,
              readUpstream,
            },
        traceContext,
      ),
    );
    if (result.status === 'ok') return result.output as CallToolResult;
    if (result.status === 'denied') return refusal(`Reins refused this call: ${result.reason}`);
    return refusal(result.error);
  }
}

/** A `tools/call` as the client sent it, with what the gateway read from it. */
interface ToolCallFromClient {
  readonly identity: DownstreamIdentity;
  /** `<upstream>__<tool>`. */
  readonly gatewayName: string;
  readonly args: Record<string, unknown>;
  /** The user's request the client declared for this call, if any. */
  readonly declared: DeclaredWithCall;
  readonly signal: AbortSignal;
  /** Progress for the client, if it asked for it. */
  readonly relay: ProgressRelay | undefined;
  /** The client's trace context, if it sent one. */
  readonly traceContext: Context | undefined;
}

/** Longest failure text copied from a result into the outcome's `error` (the whole result is kept beside it). */
const MAX_FAILURE_TEXT = 2_000;

/** An MCP tool result with `isError: true` is a failed call: the text it gives, for the record. */
function errorOfToolResult(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null || (output as CallToolResult).isError !== true)
    return undefined;
  const content = (output as CallToolResult).content;
  const text = (Array.isArray(content) ? content : [])
    .map((part) => (part.type === 'text' ? part.text : ''))
    .join(' ')
    .trim();
  if (text === '') return 'the tool reported an error';
  return text.length > MAX_FAILURE_TEXT ? `${text.slice(0, MAX_FAILURE_TEXT)}…` : text;
}

/** The call's options with the caller's trace context, when it sent one. */
function withTrace(options: CallOptions, traceContext: Context | undefined): CallOptions {
  return traceContext === undefined ? options : { ...options, traceContext };
}

/** Who a call is made by, for the harness: principal, session and the credential it rides on. */
function callerOf(identity: DownstreamIdentity) {
  const { principal, sessionId, credential } = identity;
  return credential === undefined ? { principal, sessionId } : { principal, sessionId, credential };
}

/**
 * A request to an upstream on the client's behalf: in its Reins session's share of that upstream
 * (gateway/session-share), so that one session's slow calls cannot hold what every session needs.
 */
function sessionRequest(identity: DownstreamIdentity, signal: AbortSignal): UpstreamRequest {
  return { signal, session: shareKey(identity.principal, identity.sessionId) };
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
