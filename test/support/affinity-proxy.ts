/**
 * @module test/support/affinity-proxy
 * A small load balancer in front of several gateway replicas, with session affinity on the MCP session
 * (`Mcp-Session-Id`), as docs/deployment.md asks of one: a request without the header (an initialize)
 * goes to the next replica in turn; the replica that answers with a session id owns that session, and
 * every later request carrying the id goes to it. Bodies are piped both ways unbuffered, so streamed
 * (SSE) responses pass through as they are written, and a client that goes away aborts the request to
 * the replica (which cancels the call there). A request for a session no replica answered for gets the
 * 404 a replica itself would give, so the client starts a new session.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AffinityProxy {
  /** The endpoint clients connect to, e.g. http://127.0.0.1:40000/mcp */
  readonly endpoint: string;
  /** The index (in `replicas`) of the replica that owns an MCP session, if any. */
  replicaOf(mcpSessionId: string): number | undefined;
  /** Requests forwarded to each replica so far. */
  readonly forwarded: readonly number[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 (a free port) in front of `replicas` (their endpoints, all with the same path). */
export async function startAffinityProxy(replicas: readonly string[]): Promise<AffinityProxy> {
  const targets = replicas.map((endpoint) => new URL(endpoint));
  const owners = new Map<string, number>();
  const forwarded = replicas.map(() => 0);
  let next = 0;
  const server: Server = createServer((incoming, outgoing) => {
    const header = incoming.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    let replica: number;
    if (sessionId === undefined) {
      replica = next;
      next = (next + 1) % targets.length;
    } else {
      const owner = owners.get(sessionId);
      if (owner === undefined) return unknownSession(outgoing);
      replica = owner;
    }
    forwarded[replica] = (forwarded[replica] ?? 0) + 1;
    forward(incoming, outgoing, targets[replica] as URL, (answered) => {
      if (answered !== undefined && sessionId === undefined) owners.set(answered, replica);
      if (incoming.method === 'DELETE' && sessionId !== undefined) owners.delete(sessionId);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const path = (targets[0] as URL).pathname;
  return {
    endpoint: `http://127.0.0.1:${port}${path}`,
    replicaOf: (mcpSessionId) => owners.get(mcpSessionId),
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Pipes one request to `target` and its response back; tells `onHead` the session id it answered. */
function forward(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  target: URL,
  onHead: (answeredSessionId: string | undefined) => void,
): void {
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: { ...incoming.headers, host: target.host },
    },
    (response) => {
      const answered = response.headers['mcp-session-id'];
      onHead(Array.isArray(answered) ? answered[0] : answered);
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      // an SSE stream is flushed event by event: nothing here buffers it
      outgoing.flushHeaders();
      response.pipe(outgoing);
      response.on('error', () => outgoing.destroy());
    },
  );
  upstream.on('error', (error) => {
    if (outgoing.headersSent) outgoing.destroy();
    else {
      outgoing.writeHead(502, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ error: 'replica_unreachable', message: error.message }));
    }
  });
  // the client went away before the answer was complete: so does the request to the replica
  outgoing.on('close', () => {
    if (!outgoing.writableFinished) upstream.destroy();
  });
  incoming.pipe(upstream);
}

function unknownSession(outgoing: ServerResponse): void {
  outgoing.writeHead(404, { 'content-type': 'application/json' });
  outgoing.end(
    JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
  );
}
