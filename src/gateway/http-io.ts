/**
 * @module gateway/http-io
 * Reading and answering the gateway listener's plain HTTP requests (MCP, the remote protocol, token
 * exchange): bearer credentials, bodies read within a byte limit before they are parsed, JSON content
 * types, JSON answers; and what a client connection may leave unread before it is taken for gone,
 * with the end of a response that tells when its client is gone, pipelined ones too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Authenticator, AuthResult } from '../auth/authenticator.js';
import { bearerToken } from '../auth/bearer-token.js';

/**
 * The request's body, if it is within `limit` bytes. A body declared larger is drained unread (its end
 * is known: the client gets the answer once it has sent it, and the connection serves its next
 * request). A chunked one found larger while read is not read on: the answer the caller then sends
 * (413) closes the connection, which nobody would read any more (the client's next request on it would
 * hang until the connection times out).
 */
export async function readBody(
  request: IncomingMessage,
  response: ServerResponse,
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
    if (size > limit) {
      response.setHeader('connection', 'close');
      return { kind: 'too_large' };
    }
    chunks.push(chunk as Buffer);
  }
  return { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') };
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContent(header: string | undefined): boolean {
  return header !== undefined && header.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

export function send(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify(body));
}

/**
 * The request's bearer credential, verified (revocations and suspensions apply at once); or undefined,
 * with a 401 sent that says why.
 */
export async function authenticateBearer(
  request: IncomingMessage,
  response: ServerResponse,
  authenticator: Authenticator,
): Promise<Extract<AuthResult, { ok: true }> | undefined> {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer === undefined) {
    response.setHeader('WWW-Authenticate', 'Bearer realm="reins"');
    send(response, 401, {
      error: 'unauthenticated',
      message: 'send a Reins credential: `Authorization: Bearer <token>`',
    });
    return undefined;
  }
  const auth = await authenticator.authenticate(bearer);
  if (!auth.ok) {
    response.setHeader('WWW-Authenticate', 'Bearer realm="reins", error="invalid_token"');
    send(response, 401, { error: auth.code, message: auth.message });
    return undefined;
  }
  return auth;
}

/**
 * What the gateway may hold for one client connection, written and not yet taken by the kernel, before
 * more is written to it: past it the connection is cut off (`writeWithinBound`).
 */
export const MAX_UNREAD_BYTES = 8 * 1024 * 1024;

/** A client connection: what was written for it and is still in Node's memory, who waits for its end. */
interface Connection {
  unreadBytes: number;
  readonly onClose: Set<() => void>;
}

const connections = new WeakMap<Socket, Connection>();

/** One `close` listener per connection, however many responses wait on it (a pipelining client's). */
function connectionOf(socket: Socket): Connection {
  const known = connections.get(socket);
  if (known !== undefined) return known;
  const connection: Connection = { unreadBytes: 0, onClose: new Set() };
  socket.once('close', () => {
    for (const callback of connection.onClose) callback();
    connection.onClose.clear();
  });
  connections.set(socket, connection);
  return connection;
}

export type BoundedWrite =
  | { readonly kind: 'written' }
  /** The connection was closed already: nothing written. */
  | { readonly kind: 'gone' }
  /** The connection held more than the bound unread: destroyed now, nothing written. */
  | { readonly kind: 'cut_off'; readonly unreadBytes: number };

/**
 * Writes `chunk` to `response` (as its last part with `end`), unless its client has stopped reading:
 * its connection holds more than `maxUnreadBytes` written earlier (for this response or any other on
 * the connection: a client that pipelines requests has each answer queued behind the one before) that
 * the kernel has not taken yet. Node would buffer everything written after that, without limit, until
 * the client closes the connection; so the connection is destroyed instead, which is what a client
 * that goes away does (its responses close, and their requests are cancelled).
 *
 * How a client that stopped reading is told from a slow one: by what piles up, not by time. A write is
 * never refused for its own size (an answer is not split): a large answer is written whole and waits
 * for the client to read it, however long that takes. What is bounded is what is written *on top of*
 * earlier writes still unread, so a connection holds at most the bound plus the one write that passed
 * it (an answer: at most what an upstream may answer). Counted per connection, in bytes, from each
 * write until its callback (the kernel has it).
 */
export function writeWithinBound(
  response: ServerResponse,
  chunk: string,
  options: { readonly end?: boolean; readonly maxUnreadBytes?: number } = {},
): BoundedWrite {
  const socket = response.req.socket;
  if (socket.destroyed) return { kind: 'gone' };
  const connection = connectionOf(socket);
  if (connection.unreadBytes > (options.maxUnreadBytes ?? MAX_UNREAD_BYTES)) {
    socket.destroy();
    return { kind: 'cut_off', unreadBytes: connection.unreadBytes };
  }
  const bytes = Buffer.byteLength(chunk);
  connection.unreadBytes += bytes;
  const taken = () => {
    connection.unreadBytes -= bytes;
  };
  if (options.end === true) response.end(chunk, taken);
  else response.write(chunk, taken);
  return { kind: 'written' };
}

/**
 * Resolves once `response` is over: complete, or its client gone. A response's own `close` does not
 * tell the second: one that waits in Node's queue behind an earlier response of the same connection
 * (a pipelining client's) hears nothing when the connection goes, only the connection does (and a
 * request's own `close` comes once its body is read).
 */
export function responseOver(response: ServerResponse): Promise<void> {
  const socket = response.req.socket;
  if (response.destroyed || socket.destroyed) return Promise.resolve();
  const { onClose } = connectionOf(socket);
  return new Promise((resolve) => {
    const over = () => {
      onClose.delete(over);
      response.off('close', over);
      resolve();
    };
    onClose.add(over);
    response.once('close', over);
  });
}
