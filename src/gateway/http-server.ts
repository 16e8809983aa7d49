/**
 * @module gateway/http-server
 * The gateway's Streamable HTTP endpoint for remote agents. Every HTTP request is authenticated with
 * its bearer credential (so a revocation takes effect on the next request) and acts with that
 * credential's own principal and scopes: the MCP server hands each request's identity to the handlers
 * (`req.auth` -> `extra.authInfo`), never the one captured when the session opened. An MCP session is
 * bound to the Reins session (`sid`) of the credential that opened it: a credential of another session
 * cannot ride on it, so a kill or revocation of that session reaches everything done in it. Sessions
 * are capped (in total and per agent), closed when idle, and closed when their agent or credential
 * loses its standing (suspension, revocation). Bodies larger than the configured limit are refused
 * before they are parsed, and malformed JSON gets a JSON-RPC parse error. Each MCP session speaks
 * through gateway/http-session-transport: a JSON answer for a call decided at once, an event stream
 * only when something must be sent before the answer (a held call's progress); a connection whose
 * client leaves more than `MAX_UNREAD_BYTES` unread is cut off, and the log says so.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ErrorCode, isInitializeRequest, McpError } from '@modelcontextprotocol/sdk/types.js';
import { callerOfCredential } from '../auth/agent-standing.js';
import type { Authenticator, AuthResult } from '../auth/authenticator.js';
import { describeError } from '../spec/errors.js';
import type { OpsStatus } from '../spec/ops.js';
import { answerOps, OPS_PATHS } from '../spec/ops-endpoints.js';
import type { DownstreamIdentity, Gateway, IdentityResolver } from './gateway.js';
import { authenticateBearer, isJsonContent, MAX_UNREAD_BYTES, readBody, send } from './http-io.js';
import { HttpSessionTransport } from './http-session-transport.js';
import { handleRemoteCall, isRemoteCallPath, type RemoteCallsOptions } from './remote-calls.js';
import { REMOTE_OPENAPI_PATH, remoteCallsOpenApi } from './remote-openapi.js';
import { RequestIdTransport } from './request-ids.js';
import { handleTokenExchange, TOKEN_EXCHANGE_PATH } from './token-exchange.js';

export interface HttpGatewayOptions {
  readonly gateway: Gateway;
  /** Serves the remote enforcement protocol (`/v1/calls`, gateway/remote-calls) beside `/mcp`. */
  readonly harness?: RemoteCallsOptions['harness'];
  readonly authenticator: Authenticator;
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly maxMessageBytes: number;
  /** Open MCP sessions, all agents together. */
  readonly maxSessions: number;
  /** Open MCP sessions of one agent. */
  readonly maxSessionsPerAgent: number;
  /** Milliseconds without a request after which an MCP session is closed. */
  readonly sessionIdleTimeoutMs: number;
  readonly clock?: () => number;
  readonly log?: (line: string) => void;
  /** Serves `/healthz`, `/readyz` and `/metrics` (unauthenticated) beside the MCP endpoint when given. */
  readonly ops?: OpsStatus;
}

interface Session {
  readonly transport: HttpSessionTransport;
  readonly agentId: string;
  /** Whose sessions it counts in (`maxSessionsPerAgent`): the root of its delegation chain. */
  readonly rootAgentId: string;
  /** The Reins session (`sid`) of the credential that opened it; every request must carry one of it. */
  readonly credentialSessionId: string;
  /** The latest request's identity: the session closes when its standing is lost. */
  identity: DownstreamIdentity;
  lastUsedAt: number;
  /** Requests being answered (a long-lived GET event stream does not count). */
  inFlight: number;
  /** Removed from the session table; closes once its requests are answered. */
  closing: boolean;
}

type Authenticated = Extract<AuthResult, { ok: true }>;

/** One HTTP request to the MCP endpoint, its body read and parsed (POST). */
interface HttpExchange {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly body: unknown;
}

/** How long an idle keep-alive connection stays open. */
const IDLE_CONNECTION_MS = 65_000;

/** Idle sessions are looked for every half idle timeout, but at least once a minute and at most once a second. */
const MAX_SWEEP_MS = 60_000;
const MIN_SWEEP_MS = 1_000;

/** Where each request's identity travels from the HTTP request to the MCP handlers. */
const IDENTITY_KEY = 'reinsIdentity';

export class HttpGateway {
  private readonly sessions = new Map<string, Session>();
  /** Initialize requests under way, per agent: they count against the caps already. */
  private readonly opening = new Map<string, number>();
  private server: HttpServer | undefined;
  /** Closes idle sessions even when no new session arrives to trigger it: they leave memory on their own. */
  private sweeper: NodeJS.Timeout | undefined;
  private readonly clock: () => number;
  private readonly unwatchStanding: () => void;

  constructor(private readonly options: HttpGatewayOptions) {
    this.clock = options.clock ?? Date.now;
    this.unwatchStanding = options.authenticator.standing.onChange(() => this.closeSessionsWithoutStanding());
  }

  /** Starts listening; resolves with the URL clients connect to. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.options.log?.(`request failed: ${describeError(error)}`);
        if (!response.headersSent) send(response, 500, jsonRpcError(-32603, 'internal error'));
        else response.end();
      });
    });
    // An idle connection is left for the client to close: clients (undici: 4 s) close theirs sooner
    // than this, so a message is never sent on a connection the server is closing at that moment
    // (ECONNRESET, seen losing a client's `notifications/cancelled` under load).
    server.keepAliveTimeout = IDLE_CONNECTION_MS;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const every = Math.min(MAX_SWEEP_MS, Math.max(MIN_SWEEP_MS, this.options.sessionIdleTimeoutMs / 2));
    this.sweeper = setInterval(() => this.closeIdleSessions(), every).unref();
    const address = server.address() as AddressInfo;
    return `http://${this.options.host}:${address.port}${this.options.path}`;
  }

  async close(): Promise<void> {
    this.unwatchStanding();
    clearInterval(this.sweeper);
    for (const session of this.sessions.values()) await session.transport.close().catch(() => {});
    this.sessions.clear();
    await new Promise<void>((resolve) => {
      if (this.server === undefined) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (this.options.ops !== undefined && request.method === 'GET' && OPS_PATHS.includes(url.pathname))
      return this.answerOps(url.pathname, this.options.ops, response); // probes carry no credential
    if (url.pathname === TOKEN_EXCHANGE_PATH) return handleTokenExchange(request, response, this.options); // agents delegate tasks (RFC 8693)
    if (
      this.options.harness !== undefined &&
      url.pathname === REMOTE_OPENAPI_PATH &&
      request.method === 'GET'
    )
      return send(response, 200, remoteCallsOpenApi()); // public, like any API description
    if (this.options.harness !== undefined && isRemoteCallPath(url.pathname))
      return handleRemoteCall(request, response, url, { ...this.options, harness: this.options.harness });
    if (url.pathname !== this.options.path)
      return send(response, 404, { error: 'not_found', message: `no endpoint at \`${url.pathname}\`` });

    const auth = await authenticateBearer(request, response, this.options.authenticator);
    if (auth === undefined) return;

    let body: unknown;
    if (request.method === 'POST') {
      if (!isJsonContent(request.headers['content-type'])) {
        return send(
          response,
          415,
          jsonRpcError(-32600, 'send MCP messages as JSON: `Content-Type: application/json`'),
        );
      }
      const read = await readBody(request, response, this.options.maxMessageBytes);
      if (read.kind === 'too_large') {
        return send(
          response,
          413,
          jsonRpcError(-32600, `message larger than ${this.options.maxMessageBytes} bytes`),
        );
      }
      try {
        body = JSON.parse(read.text);
      } catch {
        return send(response, 400, jsonRpcError(-32700, 'parse error: the body is not JSON'));
      }
    }

    const identity = identityOf(auth);
    const sessionHeader = request.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    if (sessionId !== undefined)
      return this.continueSession(sessionId, auth, identity, { request, response, body });
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      return send(
        response,
        400,
        jsonRpcError(-32600, 'start with an initialize request (no MCP session given)'),
      );
    }
    return this.openSession(auth, identity, { request, response, body });
  }

  private async answerOps(path: string, ops: OpsStatus, response: ServerResponse): Promise<void> {
    const answer = await answerOps(path, ops);
    if (answer === undefined) return send(response, 404, { error: 'not_found' });
    response.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'no-store' });
    response.end(answer.body);
  }

  /** A request on an open MCP session: only with a credential of the Reins session that opened it. */
  private async continueSession(
    sessionId: string,
    auth: Authenticated,
    identity: DownstreamIdentity,
    exchange: HttpExchange,
  ): Promise<void> {
    const { request, response, body } = exchange;
    const session = this.sessions.get(sessionId);
    if (session === undefined)
      return send(response, 404, jsonRpcError(-32001, 'unknown or expired MCP session'));
    if (session.agentId !== auth.principal.agentId)
      return send(response, 403, jsonRpcError(-32001, 'this MCP session belongs to another agent'));
    if (session.credentialSessionId !== auth.sessionId) {
      return send(
        response,
        403,
        jsonRpcError(
          -32001,
          `this MCP session belongs to another credential session (\`${session.credentialSessionId}\`): open a new MCP session with this credential`,
        ),
      );
    }
    session.identity = identity;
    session.lastUsedAt = this.clock();
    const counted = request.method !== 'GET';
    if (counted) session.inFlight++;
    try {
      // the handlers act with this request's own credential, never the one that opened the session
      await session.transport.handle(request, response, body, authInfoOf(auth, identity));
    } finally {
      if (counted) session.inFlight--;
      if (session.closing && session.inFlight === 0) void session.transport.close().catch(() => {});
    }
  }

  /** An initialize request: a new MCP session, within the caps, bound to this credential's session. */
  private async openSession(
    auth: Authenticated,
    identity: DownstreamIdentity,
    { request, response, body }: HttpExchange,
  ): Promise<void> {
    const agentId = auth.principal.agentId;
    // a session delegated from another agent's counts as that agent's: an agent can delegate to any
    // agent whose scopes overlap its own, and would otherwise fill that agent's sessions and lock it out
    const rootAgentId = auth.principal.delegatedBy[0] ?? agentId;
    this.closeIdleSessions();
    const full = this.capReached(rootAgentId);
    if (full !== undefined) {
      this.options.log?.(`refused a new MCP session of agent \`${agentId}\`: ${full}`);
      return send(response, 429, jsonRpcError(-32000, full));
    }
    this.opening.set(rootAgentId, (this.opening.get(rootAgentId) ?? 0) + 1);
    try {
      const transport: HttpSessionTransport = new HttpSessionTransport({
        sessionId: randomUUID(),
        onCutOff: (unreadBytes) =>
          this.options.log?.(
            `cut off a connection of MCP session ${transport.sessionId} of agent \`${agentId}\`: its client left ${unreadBytes} bytes unread (more than ${MAX_UNREAD_BYTES}); its requests still under way are cancelled, as when a client disconnects`,
          ),
        onInitialized: () => {
          this.sessions.set(transport.sessionId, {
            transport,
            agentId,
            rootAgentId,
            credentialSessionId: auth.sessionId,
            identity,
            lastUsedAt: this.clock(),
            inFlight: 0,
            closing: false,
          });
        },
      });
      transport.onclose = () => this.sessions.delete(transport.sessionId);
      // each request's own identity, never the opener's (a request without one is refused)
      const server = this.options.gateway.createServer(requestIdentity);
      // the server knows requests by ids of its own: a client's `0` or `""` can be cancelled too
      await server.connect(new RequestIdTransport(transport));
      await transport.handle(request, response, body, authInfoOf(auth, identity));
    } finally {
      const left = (this.opening.get(rootAgentId) ?? 1) - 1;
      if (left > 0) this.opening.set(rootAgentId, left);
      else this.opening.delete(rootAgentId);
    }
  }

  /** Why a new session counted as `rootAgentId`'s is refused, if a cap is reached. */
  private capReached(rootAgentId: string): string | undefined {
    const { maxSessions, maxSessionsPerAgent } = this.options;
    let total = 0;
    let ofAgent = this.opening.get(rootAgentId) ?? 0;
    for (const count of this.opening.values()) total += count;
    for (const session of this.sessions.values()) {
      total++;
      if (session.rootAgentId === rootAgentId) ofAgent++;
    }
    if (ofAgent >= maxSessionsPerAgent)
      return `at most ${maxSessionsPerAgent} open MCP sessions for agent \`${rootAgentId}\` (sessions of credentials it delegated count as its own): end one (HTTP DELETE) or wait until one is idle for long enough to close`;
    if (total >= maxSessions)
      return `at most ${maxSessions} open MCP sessions on this gateway: try again later`;
    return undefined;
  }

  private closeIdleSessions(): void {
    const cutoff = this.clock() - this.options.sessionIdleTimeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.inFlight === 0 && session.lastUsedAt < cutoff) this.retire(id, session, 'idle');
    }
  }

  /** A suspension or revocation heard from the store: sessions that rode on it close. */
  private closeSessionsWithoutStanding(): void {
    const { standing } = this.options.authenticator;
    for (const [id, session] of this.sessions) {
      const { principal, credential } = session.identity;
      const refusal = standing.check({
        agentIds: [principal.agentId, ...principal.delegatedBy],
        ...(credential ? { credential } : {}),
      });
      if (refusal !== undefined) this.retire(id, session, refusal.message);
    }
  }

  /** No further request reaches the session; it closes once the requests it is answering are done. */
  private retire(id: string, session: Session, why: string): void {
    this.sessions.delete(id);
    session.closing = true;
    this.options.log?.(`closing MCP session ${id} of agent \`${session.agentId}\`: ${why}`);
    if (session.inFlight === 0) void session.transport.close().catch(() => {});
  }
}

function identityOf(auth: Authenticated): DownstreamIdentity {
  return callerOfCredential(auth);
}

/** What the MCP handlers see of a request's credential (`extra.authInfo`), with its identity. */
function authInfoOf(auth: Authenticated, identity: DownstreamIdentity): AuthInfo {
  return {
    token: auth.claims.jti, // the credential's id: handlers never need the bearer itself
    clientId: auth.principal.agentId,
    scopes: [...(auth.principal.scopes ?? [])],
    expiresAt: auth.claims.exp,
    extra: { [IDENTITY_KEY]: identity },
  };
}

/** The identity the HTTP layer attached to this request; none means it was not authenticated here. */
const requestIdentity: IdentityResolver = (authInfo) => {
  const identity = authInfo?.extra?.[IDENTITY_KEY] as DownstreamIdentity | undefined;
  if (identity === undefined)
    throw new McpError(ErrorCode.InvalidRequest, 'this request carries no credential');
  return identity;
};

function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0', id: null, error: { code, message } };
}
