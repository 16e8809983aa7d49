/**
 * @module gateway/http-io
 * Reading and answering the gateway listener's plain HTTP requests (MCP, the remote protocol, token
 * exchange): bearer credentials, bodies read within a byte limit before they are parsed, JSON content
 * types, JSON answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
