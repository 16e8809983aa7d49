/**
 * @module gateway/http-server
 * The gateway's Streamable HTTP endpoint for remote agents. Every HTTP request is authenticated with
 * its bearer credential (so a revocation takes effect on the next request), bodies larger than the
 * configured limit are refused before they are parsed, malformed JSON gets a JSON-RPC parse error,
 * and an MCP session stays bound to the agent that opened it.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Authenticator } from '../auth/authenticator.js';
import { describeError } from '../spec/errors.js';
import type { Gateway } from './gateway.js';

export interface HttpGatewayOptions {
  readonly gateway: Gateway;
  readonly authenticator: Authenticator;
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly maxMessageBytes: number;
  readonly log?: (line: string) => void;
}

interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly agentId: string;
}

export class HttpGateway {
  private readonly sessions = new Map<string, Session>();
  private server: HttpServer | undefined;

  constructor(private readonly options: HttpGatewayOptions) {}

  /** Starts listening; resolves with the URL clients connect to. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        this.options.log?.(`request failed: ${describeError(error)}`);
        if (!response.headersSent) send(response, 500, jsonRpcError(-32603, 'internal error'));
        else response.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${this.options.host}:${address.port}${this.options.path}`;
  }

  async close(): Promise<void> {
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
    if (url.pathname !== this.options.path)
      return send(response, 404, { error: 'not_found', message: `no endpoint at \`${url.pathname}\`` });

    const bearer = request.headers.authorization;
    if (bearer === undefined || !bearer.startsWith('Bearer ')) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="reins"');
      return send(response, 401, {
        error: 'unauthenticated',
        message: 'send a Reins credential: `Authorization: Bearer <token>`',
      });
    }
    const auth = await this.options.authenticator.authenticate(bearer);
    if (!auth.ok) {
      response.setHeader('WWW-Authenticate', `Bearer realm="reins", error="invalid_token"`);
      return send(response, 401, { error: auth.code, message: auth.message });
    }

    let body: unknown;
    if (request.method === 'POST') {
      const read = await readBody(request, this.options.maxMessageBytes);
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

    const sessionHeader = request.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    if (sessionId !== undefined) {
      const session = this.sessions.get(sessionId);
      if (session === undefined)
        return send(response, 404, jsonRpcError(-32001, 'unknown or expired MCP session'));
      // a session belongs to the agent that opened it: another agent's credential cannot ride on it
      if (session.agentId !== auth.principal.agentId) {
        return send(response, 403, jsonRpcError(-32001, 'this MCP session belongs to another agent'));
      }
      return session.transport.handleRequest(request, response, body);
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) {
      return send(
        response,
        400,
        jsonRpcError(-32600, 'start with an initialize request (no MCP session given)'),
      );
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.sessions.set(id, { transport, agentId: auth.principal.agentId });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    const server = this.options.gateway.createServer({
      principal: auth.principal,
      sessionId: auth.sessionId,
    });
    await server.connect(transport);
    await transport.handleRequest(request, response, body);
  }
}

async function readBody(
  request: IncomingMessage,
  limit: number,
): Promise<{ kind: 'ok'; text: string } | { kind: 'too_large' }> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) {
    request.resume(); // drain without keeping it
    return { kind: 'too_large' };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return { kind: 'too_large' };
    chunks.push(chunk as Buffer);
  }
  return { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') };
}

function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0', id: null, error: { code, message } };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}
